// Bundles the balancer into dist/main.js, runnable with plain node: workspace packages, Effect and
// the migrations are inlined; only the native addons (better-sqlite3, @node-rs/xxhash) stay external imports.
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
  external: ["better-sqlite3", "@node-rs/xxhash"],
  // Some bundled CommonJS dependencies call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "warning"
})
