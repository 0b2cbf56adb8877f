// One esbuild setup for every bundle that runs with plain node (the balancer, the producer, the loadtest CLI,
// the load engine's worker): ESM for node20 with source maps, everything inlined but the native addons.
import { build } from "esbuild"

// Some bundled CommonJS dependencies call require(): give the ESM bundle one.
export const requireShim =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

/** Bundles `entry` into `outfile`; `external` names the packages left as imports; `banner` opens the file. */
export const bundleNode = ({ entry, outfile, external = [], banner = requireShim }) =>
  build({
    entryPoints: [entry],
    outfile,
    external,
    banner: { js: banner },
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    sourcemap: true,
    logLevel: "warning"
  })
