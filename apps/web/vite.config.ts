/**
 * The web app's Vite configuration. build.mjs builds each page with it, giving each its own root,
 * base and output folder.
 */
import solid from "vite-plugin-solid"
import { defineConfig } from "vite"

export default defineConfig({
  plugins: [solid()],
  build: {
    target: "es2022",
    // The polyfill would be an inline script; the balancer's CSP allows only 'self'.
    modulePreload: { polyfill: false },
    // data: URIs are not 'self' either: every asset stays a hashed file.
    assetsInlineLimit: 0,
    sourcemap: false,
    emptyOutDir: true
  }
})
