// The worker-thread script of `workers > 1` runs, bundled as loadgen-worker.js into `outdir`: the engine looks
// for it beside the bundle that embeds it (the loadtest CLI's dist, the producer's dist).
import { build } from "esbuild"
import { join } from "node:path"

export const bundleOptions = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning"
}

// Some bundled CommonJS dependencies call require(): give the ESM bundle one.
export const requireShim =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

export const buildWorker = (outdir) =>
  build({
    ...bundleOptions,
    entryPoints: [new URL("src/WorkerMain.ts", import.meta.url).pathname],
    outfile: join(outdir, "loadgen-worker.js"),
    banner: { js: requireShim }
  })
