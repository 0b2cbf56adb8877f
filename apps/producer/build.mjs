// Bundles the producer into dist/main.js, runnable with plain node: workspace packages (the engine among
// them), Effect and the migrations are inlined; only better-sqlite3 (a native addon) stays an external import.
import { build } from "esbuild"

const here = (path) => new URL(path, import.meta.url).pathname

await build({
  entryPoints: [here("src/main.ts")],
  outfile: here("dist/main.js"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  external: ["better-sqlite3"],
  // Some bundled CommonJS dependencies call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "warning"
})

// The engine's worker-thread script beside the bundle, for runs with workers > 1 (packages/loadgen/build-worker.mjs).
const { buildWorker } = await import("../../packages/loadgen/build-worker.mjs")
await buildWorker(here("dist"))
