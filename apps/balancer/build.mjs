// Bundles the balancer into dist/main.js, runnable with plain node: workspace packages, Effect and
// the migrations are inlined; only the native addons (better-sqlite3, @node-rs/xxhash) stay external imports.
import { bundleNode } from "../../scripts/lib/bundle.mjs"

const here = (path) => new URL(path, import.meta.url).pathname

await bundleNode({ entry: here("src/main.ts"), outfile: here("dist/main.js"), external: ["better-sqlite3", "@node-rs/xxhash"] })
