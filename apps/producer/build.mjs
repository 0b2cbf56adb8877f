// Bundles the producer into dist/main.js, runnable with plain node: workspace packages (the engine among
// them), Effect and the migrations are inlined; only better-sqlite3 (a native addon) stays an external import.
import { buildWorker } from "../../packages/loadgen/build-worker.mjs"
import { bundleNode } from "../../scripts/lib/bundle.mjs"

const here = (path) => new URL(path, import.meta.url).pathname

await bundleNode({ entry: here("src/main.ts"), outfile: here("dist/main.js"), external: ["better-sqlite3"] })
// The engine's worker-thread script beside the bundle, for runs with workers > 1.
await buildWorker(here("dist"))
