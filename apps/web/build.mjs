// Builds each page of the web app that exists (editor/, producer/) to dist/<page>/ with Vite, then
// writes .br and .gz siblings of every text asset so the servers can send them pre-compressed.
// Imported by the root scripts/build.mjs; also runnable alone (`node apps/web/build.mjs`).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { brotliCompressSync, constants, gzipSync } from "node:zlib"
import { build } from "vite"

const here = import.meta.dirname
const pages = [
  { name: "editor", base: "/admin/" },
  { name: "producer", base: "/" }
]
const COMPRESSIBLE = /\.(js|css|svg|html|json)$/
const EDITOR_JS_BUDGET = 250 * 1024

const filesUnder = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

const precompress = (dir) => {
  let gzippedJs = 0
  for (const file of filesUnder(dir).filter((f) => COMPRESSIBLE.test(f))) {
    const body = readFileSync(file)
    const gz = gzipSync(body, { level: 9 })
    writeFileSync(`${file}.gz`, gz)
    writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }))
    if (file.endsWith(".js")) gzippedJs += gz.length
  }
  return gzippedJs
}

for (const page of pages) {
  const root = join(here, page.name)
  if (!existsSync(join(root, "index.html"))) continue
  const outDir = join(here, "dist", page.name)
  await build({
    configFile: join(here, "vite.config.ts"),
    root,
    base: page.base,
    logLevel: "warn",
    build: { outDir, emptyOutDir: true }
  })
  const gzippedJs = precompress(outDir)
  console.log(`web: ${page.name} built to ${outDir}, JavaScript ${(gzippedJs / 1024).toFixed(1)} KB gzipped`)
  if (page.name === "editor" && gzippedJs > EDITOR_JS_BUDGET) {
    throw new Error(`the editor's JavaScript is ${gzippedJs} bytes gzipped, over the ${EDITOR_JS_BUDGET} byte budget`)
  }
}
