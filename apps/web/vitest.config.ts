import solid from "vite-plugin-solid"
import { defineConfig } from "vitest/config"

export default defineConfig({
  plugins: [solid({ ssr: false })],
  resolve: { conditions: ["development", "browser"] },
  test: {
    name: "@llmlb/web",
    environment: "node",
    // one copy of Solid (the browser build with dev checks) for the tests and the store they import
    server: { deps: { inline: [/solid-js/] } },
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    testTimeout: 30_000,
    hookTimeout: 120_000
  }
})
