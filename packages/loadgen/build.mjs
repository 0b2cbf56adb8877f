// Bundles the `loadtest` CLI into dist/cli.js, runnable with plain node (`#!/usr/bin/env node`), and the
// worker-thread script of `--workers N` into dist/loadgen-worker.js beside it: the engine looks for that
// file next to the bundle that imports it. A bundle of another app that embeds the engine (the producer)
// calls `buildWorker(itsDistDir)` so that `workers > 1` works there too.
import { build } from "esbuild"
import { chmodSync } from "node:fs"
import { join } from "node:path"

const here = (path) => new URL(path, import.meta.url).pathname

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning"
}
// Some bundled CommonJS dependencies call require(): give the ESM bundle one.
const requireShim = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

export const buildWorker = (outdir) =>
  build({ ...common, entryPoints: [here("src/WorkerMain.ts")], outfile: join(outdir, "loadgen-worker.js"), banner: { js: requireShim } })

await build({
  ...common,
  entryPoints: [here("src/cli.ts")],
  outfile: here("dist/cli.js"),
  banner: { js: `#!/usr/bin/env node\n${requireShim}` }
})
chmodSync(here("dist/cli.js"), 0o755)
await buildWorker(here("dist"))
