// The worker-thread script of `workers > 1` runs, bundled as loadgen-worker.js into `outdir`: the engine looks
// for it beside the bundle that embeds it (the loadtest CLI's dist, the producer's dist).
import { join } from "node:path"
import { bundleNode } from "../../scripts/lib/bundle.mjs"

export const buildWorker = (outdir) =>
  bundleNode({ entry: new URL("src/WorkerMain.ts", import.meta.url).pathname, outfile: join(outdir, "loadgen-worker.js") })
