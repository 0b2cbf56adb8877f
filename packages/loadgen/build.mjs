// Bundles the `loadtest` CLI into dist/cli.js, runnable with plain node (`#!/usr/bin/env node`), and the
// worker-thread script of `--workers N` into dist/loadgen-worker.js beside it (build-worker.mjs).
import { chmodSync } from "node:fs"
import { bundleNode, requireShim } from "../../scripts/lib/bundle.mjs"
import { buildWorker } from "./build-worker.mjs"

const here = (path) => new URL(path, import.meta.url).pathname

await bundleNode({ entry: here("src/cli.ts"), outfile: here("dist/cli.js"), banner: `#!/usr/bin/env node\n${requireShim}` })
chmodSync(here("dist/cli.js"), 0o755)
await buildWorker(here("dist"))
