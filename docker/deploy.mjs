// The production deployment of one image, copied out of a built checkout into a directory of its own:
//   node docker/deploy.mjs balancer|producer|upstream-sim <out-dir>
// The Dockerfiles' build stages run it, and the rehearsal tests (docker/test) run the very same script, then
// start the result with plain node and nothing else beside it. An app gets its bundle (dist/main.js), the
// native better-sqlite3 addon with the few packages it loads at run time, its page from apps/web/dist and the
// online backup script (docker/sqlite-backup.mjs).
// The upstream simulator is bundled here (it has no build of its own) with the demo's wiring script.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"

const root = resolve(import.meta.dirname, "..")

/** Packages the bundles leave external (see each app's build.mjs): native addons, copied with their runtime deps. */
const NATIVE = ["better-sqlite3"]
/** Dependencies used only while installing (better-sqlite3 downloads or compiles its addon with them). */
const INSTALL_ONLY = new Set(["prebuild-install"])

const targets = {
  balancer: { app: "apps/balancer", web: "apps/web/dist/editor" },
  producer: { app: "apps/producer", web: "apps/web/dist/producer" }
}

const fail = (message) => {
  process.stderr.write(`deploy: ${message}\n`)
  process.exit(1)
}

const packageJson = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))

/** The real directory of `name` as seen from `fromDir` (pnpm links packages from its store). */
const packageDir = (name, fromDir) =>
  dirname(realpathSync(createRequire(join(fromDir, "package.json")).resolve(`${name}/package.json`)))

/**
 * Copies a package and, recursively, its runtime dependencies into `modules`, flat (each is needed once).
 * Of a package with a compiled addon only package.json, its JavaScript and the .node files are kept: its
 * sources, object files and bundled SQLite amalgamation are build-time only.
 */
const copyPackage = (name, fromDir, modules, seen = new Set()) => {
  if (seen.has(name)) return
  seen.add(name)
  const source = packageDir(name, fromDir)
  const target = join(modules, name)
  const pkg = packageJson(source)
  const release = join(source, "build", "Release")
  if (existsSync(release)) {
    mkdirSync(join(target, "build", "Release"), { recursive: true })
    cpSync(join(source, "package.json"), join(target, "package.json"))
    cpSync(join(source, "lib"), join(target, "lib"), { recursive: true })
    const addons = readdirSync(release).filter((file) => file.endsWith(".node") && !file.startsWith("test_"))
    if (addons.length === 0) fail(`${name} has no compiled addon in ${release}: install it with its build scripts allowed`)
    for (const addon of addons) cpSync(join(release, addon), join(target, "build", "Release", addon))
  } else {
    cpSync(source, target, { recursive: true, filter: (path) => !relative(source, path).split("/").includes("node_modules") })
  }
  for (const dependency of Object.keys(pkg.dependencies ?? {})) {
    if (!INSTALL_ONLY.has(dependency)) copyPackage(dependency, source, modules, seen)
  }
}

/** The bundles are ES modules named .js: the directory's package.json says so. */
const writeManifest = (out, name) =>
  writeFileSync(join(out, "package.json"), JSON.stringify({ name, private: true, type: "module" }, null, 2) + "\n")

const deployApp = (name, { app, web }, out) => {
  const bundle = join(root, app, "dist", "main.js")
  if (!existsSync(bundle)) fail(`${relative(root, bundle)} is missing: run \`corepack pnpm build\` first`)
  const webDir = join(root, web)
  if (!existsSync(join(webDir, "index.html"))) fail(`${web}/index.html is missing: run \`corepack pnpm build\` first`)
  cpSync(bundle, join(out, "main.js"))
  cpSync(join(root, "docker", "sqlite-backup.mjs"), join(out, "sqlite-backup.mjs"))
  cpSync(webDir, join(out, "web"), { recursive: true })
  for (const native of NATIVE) copyPackage(native, join(root, app), join(out, "node_modules"))
  writeManifest(out, `@llmlb/${name}-image`)
}

const deploySim = async (out) => {
  const { build } = await import(pathToFileURL(createRequire(join(root, "package.json")).resolve("esbuild")).href)
  await build({
    entryPoints: [join(root, "packages/upstream-sim/src/cli.ts")],
    outfile: join(out, "main.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    logLevel: "warning"
  })
  cpSync(join(root, "docker", "demo-setup.mjs"), join(out, "demo-setup.mjs"))
  writeManifest(out, "@llmlb/upstream-sim-image")
}

const [target, outArg] = process.argv.slice(2)
if (outArg === undefined || target === undefined || !(Object.hasOwn(targets, target) || target === "upstream-sim")) {
  fail("usage: node docker/deploy.mjs balancer|producer|upstream-sim <out-dir>")
}
const out = resolve(outArg)
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
if (target === "upstream-sim") await deploySim(out)
else deployApp(target, targets[target], out)
process.stdout.write(`deploy: ${target} -> ${out}\n`)
