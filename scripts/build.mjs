// `corepack pnpm build`: builds every part that has a build.mjs, in dependency order: the web app first
// (the balancer and the producer serve its static files), then the bundles runnable with plain node.
import { existsSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"

const root = join(import.meta.dirname, "..")
const parts = ["apps/web", "apps/balancer", "packages/loadgen", "apps/producer"]

for (const part of parts) {
  const script = join(root, part, "build.mjs")
  if (existsSync(script)) await import(pathToFileURL(script).href)
}
