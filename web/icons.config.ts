// The icons the UI shows, bundled: the Lucide icons named anywhere in src/ or in Nuxt UI's
// component defaults, taken from @iconify-json/lucide at build time. Nothing is fetched from
// an icon CDN at run time.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { getIcons } from "@iconify/utils";
import type { IconifyJSON } from "@iconify/types";
import type { Plugin } from "vite";

const NAME = /i-lucide-([a-z0-9-]+)/g;

function namesIn(dir: string, out: Set<string>, extensions: RegExp) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) namesIn(path, out, extensions);
    else if (extensions.test(entry)) for (const m of readFileSync(path, "utf8").matchAll(NAME)) out.add(m[1]);
  }
}

export function bundledIcons(root: string): Plugin {
  const id = "virtual:icons";
  return {
    name: "cronkit-icons",
    resolveId: (source) => (source === id ? "\0" + id : undefined),
    load(resolved) {
      if (resolved !== "\0" + id) return undefined;
      const names = new Set<string>();
      namesIn(join(root, "src"), names, /\.(vue|ts)$/);
      namesIn(join(root, "node_modules/@nuxt/ui/dist/shared"), names, /\.mjs$/);
      const lucide = JSON.parse(
        readFileSync(join(root, "node_modules/@iconify-json/lucide/icons.json"), "utf8"),
      ) as IconifyJSON;
      const subset = getIcons(lucide, [...names].sort(), true);
      if (!subset) throw new Error("no Lucide icons found");
      const missing = [...names].filter((n) => !subset.icons[n] && !subset.aliases?.[n]);
      if (missing.length) throw new Error(`unknown Lucide icons: ${missing.join(", ")}`);
      return `export default ${JSON.stringify(subset)};`;
    },
  };
}
