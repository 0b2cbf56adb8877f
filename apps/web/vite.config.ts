/**
 * The web app's Vite configuration, shared by `vite` (dev server, editor page) and build.mjs, which
 * builds each page with its own root, base and output folder on top of this file.
 */
import solid from "vite-plugin-solid"
import { defineConfig } from "vite"

export default defineConfig({
  plugins: [solid()],
  root: "editor",
  base: "/admin/",
  build: {
    target: "es2022",
    // The polyfill would be an inline script; the balancer's CSP allows only 'self'.
    modulePreload: { polyfill: false },
    // data: URIs are not 'self' either: every asset stays a hashed file.
    assetsInlineLimit: 0,
    sourcemap: false,
    emptyOutDir: true
  },
  server: {
    host: "127.0.0.1",
    // `vite` in apps/web against a balancer running on :8090 (corepack pnpm start).
    proxy: { "/admin/api": "http://127.0.0.1:8090" }
  }
})
