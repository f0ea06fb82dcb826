#!/usr/bin/env bash
# The Debian package as an operator meets it: built; no lintian errors; holding the program
# (stripped, its symbols in the -dbgsym package), the man page, the conffile and the unit,
# and libcronkit-dev the library, its headers, its CMake package and cronkit.pc;
# Depends computed; the unpacked program serving and telling a NOTIFY_SOCKET it is ready
# and alive; and installed (its unit accepted by systemd-analyze verify), upgraded, removed
# and purged with dpkg in a throwaway root — an overlay of this machine's own root in a mount
# namespace of its own, so that nothing reaches the machine. Needs root.
#   tests/package/package_test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() {
  echo "package test: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (dpkg in a mount namespace)"
tmp=$(mktemp -d)
trap 'umount -R "$tmp/merged" 2>/dev/null || true; rm -rf --one-file-system "$tmp"' EXIT

scripts/package.sh >/dev/null
deb=$(ls build/packages/cronkit_*_amd64.deb)
ddeb=$(ls build/packages/cronkit-dbgsym_*_amd64.ddeb)
dev=$(ls build/packages/libcronkit-dev_*_amd64.deb)
version=$(dpkg-deb -f "$deb" Version)
echo "-- built $deb, $ddeb and $dev (version $version)"

echo "-- lintian: no errors (the warnings it has are in docs/packaging.md)"
lintian --fail-on error --tag-display-limit 0 "$deb" "$dev" | tee "$tmp/lintian.txt" ||
  fail "lintian found errors"

echo "-- contents"
dpkg-deb --contents "$deb" | awk '{print $6}' >"$tmp/contents"
for f in ./usr/bin/cronkit ./usr/share/man/man1/cronkit.1.gz ./etc/cronkit/cronkit.toml \
  ./lib/systemd/system/cronkit.service ./usr/share/doc/cronkit/copyright \
  ./usr/share/doc/cronkit/changelog.gz; do
  grep -qx -- "$f" "$tmp/contents" || fail "$deb lacks $f"
done
dpkg-deb --contents "$dev" | awk '{print $6}' >"$tmp/dev-contents"
lib=./usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in "$lib/libcronkit.a" ./usr/include/cronkit/cronkit.h ./usr/include/cronkit/registry.h \
  "$lib/cmake/cronkit/cronkitConfig.cmake" "$lib/cmake/cronkit/cronkitConfigVersion.cmake" \
  "$lib/cmake/cronkit/cronkitTargets.cmake" "$lib/pkgconfig/cronkit.pc" \
  ./usr/share/doc/libcronkit-dev/copyright; do
  grep -qx -- "$f" "$tmp/dev-contents" || fail "$dev lacks $f"
done
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/cronkit/cronkit.toml "$tmp/control/conffiles" || fail "cronkit.toml is not a conffile"
depends=$(dpkg-deb -f "$deb" Depends)
# From dpkg-shlibdeps: every library the program links, with its version.
sed 's/, /\n/g; s/ ([^)]*)//g' <<<"$depends" >"$tmp/depends"
for p in adduser libc6 libstdc++6 libsqlite3-0 libpq5 libcurl4 libsystemd0 libssl3 libyaml-cpp0.7; do
  grep -qFx "$p" "$tmp/depends" || fail "Depends lacks $p: $depends"
done
dpkg-deb -x "$deb" "$tmp/unpacked"
program=$tmp/unpacked/usr/bin/cronkit
! readelf -S "$program" | grep -q '\.debug_info' || fail "/usr/bin/cronkit is not stripped"
build_id=$(readelf -n "$program" | awk '/Build ID/ {print $3}')
[ -n "$build_id" ] || fail "/usr/bin/cronkit has no build id"
dpkg-deb --contents "$ddeb" | grep -q "usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug" ||
  fail "$ddeb lacks the symbols of build id $build_id"
man -l "$tmp/unpacked/usr/share/man/man1/cronkit.1.gz" 2>/dev/null | grep -q -- "--max-concurrency" ||
  zcat "$tmp/unpacked/usr/share/man/man1/cronkit.1.gz" | grep -q -- 'max\\-concurrency' ||
  fail "the man page lacks serve's options"

echo "-- the unpacked program"
"$program" --version | grep -Eqx "cronkit ${version%%+*}( \\(commit [0-9a-f]{12}(-dirty)?\\))?" ||
  fail "--version: $("$program" --version)"
(cd tests/api && CRONKIT_BIN="$program" node --test systemd.test.mjs) >"$tmp/systemd.txt" 2>&1 || {
  cat "$tmp/systemd.txt"
  fail "the unpacked program under a NOTIFY_SOCKET"
}

echo "-- dpkg in a throwaway root: install, upgrade, libcronkit-dev used, remove, purge"
# A newer package: the same files, a higher version.
dpkg-deb -R "$deb" "$tmp/newer"
sed -i "s/^Version: .*/Version: $version+1/" "$tmp/newer/DEBIAN/control"
dpkg-deb --root-owner-group -b "$tmp/newer" "$tmp/cronkit_newer.deb" >/dev/null
mkdir -p "$tmp/upper" "$tmp/work" "$tmp/merged"
cp "$deb" "$tmp/upper/cronkit.deb"
cp "$tmp/cronkit_newer.deb" "$tmp/upper/cronkit_newer.deb"
cp "$dev" "$tmp/upper/libcronkit-dev.deb"
cp -r examples/embedded "$tmp/upper/embedded"
cat >"$tmp/upper/steps.sh" <<'STEPS'
set -eu
fail() { echo "package test (in the throwaway root): $*" >&2; exit 1; }
! getent passwd cronkit >/dev/null || fail "a cronkit user exists before the install"
dpkg -i /cronkit.deb >/dev/null
getent passwd cronkit >/dev/null || fail "no cronkit user after the install"
[ "$(stat -c %U:%G:%a /etc/cronkit/cronkit.toml)" = root:cronkit:640 ] ||
  fail "cronkit.toml is $(stat -c %U:%G:%a /etc/cronkit/cronkit.toml)"
[ -L /etc/systemd/system/multi-user.target.wants/cronkit.service ] || fail "the service is not enabled"
# The unit as installed, its program in place.
systemd-analyze verify --man=no /lib/systemd/system/cronkit.service ||
  fail "systemd-analyze verify refused the unit"
# What systemd's StateDirectory= does, then the database as the service makes it.
install -d -o cronkit -g cronkit -m 750 /var/lib/cronkit
runuser -u cronkit -- /usr/bin/cronkit migrate --config /etc/cronkit/cronkit.toml >/dev/null
[ -f /var/lib/cronkit/cronkit.db ] || fail "no database at /var/lib/cronkit/cronkit.db"
echo 'max-concurrency = 9  # edited' >>/etc/cronkit/cronkit.toml
db=$(sha256sum /var/lib/cronkit/cronkit.db)

dpkg -i --force-confold /cronkit_newer.deb >/dev/null
dpkg-query -W -f '${Version}' cronkit | grep -q '+1$' || fail "not upgraded"
grep -q '^max-concurrency = 9  # edited$' /etc/cronkit/cronkit.toml || fail "the upgrade lost the edited config"
[ "$(sha256sum /var/lib/cronkit/cronkit.db)" = "$db" ] || fail "the upgrade changed the database"
runuser -u cronkit -- /usr/bin/cronkit serve --config /etc/cronkit/cronkit.toml --print-config |
  grep -qx 'max-concurrency = 9' || fail "the edited config is not what the server reads"

# The library as an embedder installs it: find_package(cronkit) from /usr.
dpkg -i /libcronkit-dev.deb >/dev/null
cmake -S /embedded -B /embedded-build -G Ninja >/embedded.log 2>&1 &&
  cmake --build /embedded-build >>/embedded.log 2>&1 || { cat /embedded.log; fail "the example does not build against libcronkit-dev"; }
/embedded-build/cronkit_embedded --version | grep -q '^cronkit ' || fail "the example built against libcronkit-dev"
dpkg -P libcronkit-dev >/dev/null

dpkg -r cronkit >/dev/null
[ ! -e /usr/bin/cronkit ] || fail "remove left the program"
[ -f /var/lib/cronkit/cronkit.db ] || fail "remove deleted the database"
grep -q 'max-concurrency = 9' /etc/cronkit/cronkit.toml || fail "remove deleted the config"
getent passwd cronkit >/dev/null || fail "remove deleted the user"

dpkg -P cronkit >/dev/null
[ ! -e /var/lib/cronkit ] || fail "purge left /var/lib/cronkit"
[ ! -e /etc/cronkit ] || fail "purge left /etc/cronkit"
! getent passwd cronkit >/dev/null || fail "purge left the user"
! getent group cronkit >/dev/null || fail "purge left the group"
echo "install, upgrade, remove, purge: ok"
STEPS
unshare --mount --propagation private bash -euc '
  tmp=$1
  mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "$tmp/merged"
  mount -t proc proc "$tmp/merged/proc"
  mount --rbind /dev "$tmp/merged/dev"
  mount -t tmpfs tmpfs "$tmp/merged/run"
  mount -t tmpfs tmpfs "$tmp/merged/tmp"
  chroot "$tmp/merged" sh /steps.sh
' bash "$tmp"
getent passwd cronkit >/dev/null && fail "the throwaway root leaked a cronkit user onto this machine"
[ ! -e /usr/bin/cronkit ] || fail "the throwaway root leaked /usr/bin/cronkit onto this machine"
echo "package: ok"
