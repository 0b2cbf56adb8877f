// Bundles the `loadtest` CLI into dist/cli.js, runnable with plain node (`#!/usr/bin/env node`), and the
// worker-thread script of `--workers N` into dist/loadgen-worker.js beside it (build-worker.mjs).
import { build } from "esbuild"
import { chmodSync } from "node:fs"
import { buildWorker, bundleOptions, requireShim } from "./build-worker.mjs"

const here = (path) => new URL(path, import.meta.url).pathname

await build({
  ...bundleOptions,
  entryPoints: [here("src/cli.ts")],
  outfile: here("dist/cli.js"),
  banner: { js: `#!/usr/bin/env node\n${requireShim}` }
})
chmodSync(here("dist/cli.js"), 0o755)
await buildWorker(here("dist"))
