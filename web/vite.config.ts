import { defineConfig } from "vitest/config";
import vue from "@vitejs/plugin-vue";
import ui from "@nuxt/ui/vite";
import { bundledIcons } from "./icons.config.ts";

// Served by cronkit at /admin/scheduler; hashed asset names, so that the server can mark
// them immutable. Icons come from the bundle (src/icons.ts), never from a CDN.
export default defineConfig({
  base: "/admin/scheduler/",
  plugins: [
    bundledIcons(import.meta.dirname),
    vue(),
    ui({
      ui: { colors: { primary: "emerald", neutral: "zinc" } },
    }),
  ],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    reportCompressedSize: false,
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts"],
  },
});
