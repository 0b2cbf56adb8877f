// The production deployment of one image, copied out of a built checkout into a directory of its own:
//   node docker/deploy.mjs balancer|producer|upstream-sim <out-dir>
// The Dockerfiles' build stages run it, and the rehearsal tests (docker/test) run the very same script, then
// start the result with plain node and nothing else beside it. An app gets its bundle (dist/*.js), the
// packages the bundle leaves external (native addons: better-sqlite3, @node-rs/xxhash) with the few packages
// they load at run time, its page from apps/web/dist and the online backup script (docker/sqlite-backup.mjs).
// The upstream simulator is bundled here (it has no build of its own) with the demo's wiring script.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { builtinModules, createRequire } from "node:module"
import { dirname, join, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"

const root = resolve(import.meta.dirname, "..")

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
  // Optional dependencies are the prebuilt addons of other platforms, but for the one installed here.
  for (const dependency of Object.keys(pkg.optionalDependencies ?? {})) {
    if (installed(dependency, source)) copyPackage(dependency, source, modules, seen)
  }
}

const installed = (name, fromDir) => {
  try {
    packageDir(name, fromDir)
    return true
  } catch {
    return false
  }
}

const BUILTINS = new Set(builtinModules)

/**
 * The packages a bundle still imports (each app's build.mjs leaves its native addons external): the bare
 * specifiers of its top-level `import ... from "x"` lines and `import("x")` calls, Node's own modules aside.
 */
const externalsOf = (bundle) => {
  const text = readFileSync(bundle, "utf8")
  const specifiers = [
    ...text.matchAll(/^import\s+(?:[\w$*{}\s,]+?\s+from\s+)?"([^"]+)";?$/gm),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)
  ].map(([, specifier]) => specifier)
  const packages = specifiers
    .filter((s) => !s.startsWith(".") && !s.startsWith("/") && !s.startsWith("node:") && !BUILTINS.has(s.split("/")[0]))
    .map((s) => s.split("/").slice(0, s.startsWith("@") ? 2 : 1).join("/"))
  return [...new Set(packages)].sort()
}

/** The bundles are ES modules named .js: the directory's package.json says so. */
const writeManifest = (out, name) =>
  writeFileSync(join(out, "package.json"), JSON.stringify({ name, private: true, type: "module" }, null, 2) + "\n")

const deployApp = (name, { app, web }, out) => {
  const bundle = join(root, app, "dist", "main.js")
  if (!existsSync(bundle)) fail(`${relative(root, bundle)} is missing: run \`corepack pnpm build\` first`)
  const webDir = join(root, web)
  if (!existsSync(join(webDir, "index.html"))) fail(`${web}/index.html is missing: run \`corepack pnpm build\` first`)
  // main.js and any script it starts beside itself (the producer's load-engine worker), without source maps.
  const scripts = readdirSync(dirname(bundle)).filter((file) => /\.(m|c)?js$/.test(file))
  for (const script of scripts) cpSync(join(dirname(bundle), script), join(out, script))
  cpSync(join(root, "docker", "sqlite-backup.mjs"), join(out, "sqlite-backup.mjs"))
  cpSync(webDir, join(out, "web"), { recursive: true })
  const seen = new Set()
  const externals = new Set(scripts.flatMap((script) => externalsOf(join(out, script))))
  for (const external of externals) copyPackage(external, join(root, app), join(out, "node_modules"), seen)
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
