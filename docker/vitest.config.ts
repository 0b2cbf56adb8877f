import { defineConfig } from "vitest/config"

// The rehearsals start real processes (deploy, start, health, SIGTERM) on a loaded machine: generous timeouts.
export default defineConfig({
  test: {
    name: "@llmlb/docker",
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
