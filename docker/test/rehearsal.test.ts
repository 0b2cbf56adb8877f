import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { builtinModules, createRequire } from "node:module"
import { join } from "node:path"
import { compose, healthcheckCommand, read, ROOT, serviceEnv } from "./support/Repo.js"
import { deploy, type Deployment, envIn, freePort, NODE_UID, runAsNode, startAsNode, waitFor200 } from "./support/Rehearsal.js"

const ADMIN_TOKEN = "rehearsal-admin-token-0123456789"
const PRODUCER_TOKEN = "rehearsal-producer-token-0123456789"

/** The stage's exec-form CMD without its leading `node`. */
const cmdArgs = (d: Deployment) => {
  const argv: Array<string> = JSON.parse(d.stage.getCMDs()[0]!.getArgumentsContent()!)
  expect(argv[0]).toBe("node")
  return argv.slice(1)
}

/** Runs the stage's HEALTHCHECK command the way Docker does: in the container, as its user, with its env. */
const healthcheck = (d: Deployment, env: Record<string, string>) => runAsNode(d.app, healthcheckCommand(d.stage).slice(1), env)

/** The tables of a database, read with the deployment's own better-sqlite3. */
const tablesIn = (d: Deployment, file: string): Array<string> => {
  const Database = createRequire(join(d.app, "package.json"))("better-sqlite3")
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok")
    return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r: { name: string }) => r.name)
  } finally {
    db.close()
  }
}

/** The packages of a node_modules folder, scoped ones as `@scope/name`. */
const packagesIn = (modules: string): Array<string> =>
  readdirSync(modules).flatMap((name) => name.startsWith("@") ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`) : [name])

/** What the bundle imports by bare name at its top level (its external packages), Node's own modules aside. */
const bareImportsOf = (bundle: string) =>
  [...readFileSync(bundle, "utf8").matchAll(/^import\s+(?:[\w$*{}\s,]+?\s+from\s+)?"([^".][^"]*)";?$/gm)]
    .map(([, specifier]) => specifier!)
    .filter((s) => !s.startsWith("node:") && !builtinModules.includes(s.split("/")[0]!))
    .map((s) => s.split("/").slice(0, s.startsWith("@") ? 2 : 1).join("/"))

const onlyDeployment = (d: Deployment, app: App) => {
  const scripts = readdirSync(join(ROOT, app.dist)).filter((file) => file.endsWith(".js"))
  expect(scripts).toContain("main.js")
  expect(readdirSync(d.app).sort()).toEqual([...scripts, "node_modules", "package.json", "sqlite-backup.mjs", "web"].sort())
  expect(existsSync(join(d.app, "web/index.html")), app.web).toBe(true)
  // node_modules holds the bundle's external packages and what they load, nothing more.
  const modules = join(d.app, "node_modules")
  const present = packagesIn(modules)
  const needed = new Set<string>()
  const visit = (name: string) => {
    if (needed.has(name) || !present.includes(name)) return
    needed.add(name)
    const pkg = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"))
    for (const dependency of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dependency)
  }
  const imported = bareImportsOf(join(d.app, "main.js"))
  expect(imported).toContain("better-sqlite3")
  for (const name of imported) {
    expect(present, name).toContain(name)
    visit(name)
  }
  expect(present.sort()).toEqual([...needed].sort())
  // Of better-sqlite3, the compiled addon but not its sources and object files.
  expect(readdirSync(join(modules, "better-sqlite3/build/Release"))).toEqual(["better_sqlite3.node"])
  expect(readdirSync(join(modules, "better-sqlite3")).sort()).toEqual(["build", "lib", "package.json"])
  // Nothing above the deployment could supply a module instead.
  for (let dir = join(d.app, ".."); dir !== "/"; dir = join(dir, "..")) expect(existsSync(join(dir, "node_modules")), dir).toBe(false)
}

interface App {
  readonly name: string
  readonly file: string
  readonly web: string
  /** Where its build writes the bundle and the scripts beside it. */
  readonly dist: string
  readonly db: string
  /** The env a test adds: loopback, a free port, the secret compose requires. */
  readonly env: (port: number) => Record<string, string>
  /** A page the app serves from its web directory. */
  readonly page: string
}

const apps: ReadonlyArray<App> = [
  {
    name: "balancer",
    file: "docker/balancer.Dockerfile",
    web: "apps/web/dist/editor",
    dist: "apps/balancer/dist",
    db: "load_balancer.db",
    env: (port) => ({ LB_HOST: "127.0.0.1", LB_PORT: String(port), LB_ADMIN_TOKEN: ADMIN_TOKEN }),
    page: "/admin/"
  },
  {
    name: "producer",
    file: "docker/producer.Dockerfile",
    web: "apps/web/dist/producer",
    dist: "apps/producer/dist",
    db: "load_producer.db",
    env: (port) => ({ LP_HOST: "127.0.0.1", LP_PORT: String(port), LP_TOKEN: PRODUCER_TOKEN }),
    page: "/"
  }
]

for (const app of apps) {
  describe(`the ${app.name}'s runtime stage, rehearsed`, () => {
    it.scopedLive("starts as uid 1000 from its deployment alone, passes its healthcheck, serves its page, exits 0 on SIGTERM", () =>
      Effect.gen(function*() {
        const d = yield* deploy(app.file, app.name)
        onlyDeployment(d, app)
        const port = yield* freePort()
        const env = envIn(d, app.env(port))
        const started = yield* startAsNode(d.app, cmdArgs(d), env)
        const url = `http://127.0.0.1:${port}`
        yield* waitFor200(`${url}/health`, started)

        // A health answer of the app itself, not a page that a fallback route happens to serve.
        const health = yield* Effect.promise(() => fetch(`${url}/health`))
        expect(health.headers.get("content-type")).toMatch(/^application\/json/)
        expect(yield* Effect.promise(() => health.json())).toMatchObject({ status: "ok" })
        expect(yield* healthcheck(d, env)).toMatchObject({ code: 0 })
        const page = yield* Effect.promise(() => fetch(`${url}${app.page}`))
        expect(page.status).toBe(200)
        expect(page.headers.get("content-type")).toMatch(/^text\/html/)
        // From the deployment's own web directory (the image's /app/web), not from a checkout.
        expect(yield* Effect.promise(() => page.text())).toBe(readFileSync(join(d.app, "web/index.html"), "utf8"))
        if (process.getuid?.() === 0) expect(statSync(join(d.data, app.db)).uid).toBe(NODE_UID)

        // The README's online backup, while the app runs: a consistent copy in the volume's backups/ folder.
        const backup = yield* runAsNode(d.app, ["sqlite-backup.mjs"], env)
        expect(backup.code, backup.output).toBe(0)
        const copy = backup.output.trim()
        expect(copy.startsWith(join(d.data, "backups") + "/")).toBe(true)
        expect(tablesIn(d, copy)).toEqual(tablesIn(d, join(d.data, app.db)))

        started.child.kill("SIGTERM")
        expect(yield* Effect.promise(() => started.exited)).toBe(0)
        expect((yield* healthcheck(d, env)).code).toBe(1)
      }))
  })
}

describe("the demo profile, rehearsed", () => {
  it.scopedLive("the simulators' image and demo-setup wire three upstreams to the balancer, idempotently", () =>
    Effect.gen(function*() {
      const { services } = compose()
      const sims = yield* deploy("docker/balancer.Dockerfile", "upstream-sim")
      expect(readdirSync(sims.app).sort()).toEqual(["demo-setup.mjs", "main.js", "package.json"])
      const entrypoint: Array<string> = JSON.parse(sims.stage.getENTRYPOINTs()[0]!.getArgumentsContent()!)
      expect(entrypoint).toEqual(["node", "main.js"])

      // Each simulator with its compose command, on a free loopback port instead of the container's 8000.
      const simPorts = new Map<string, number>()
      for (const name of ["sim-fast", "sim-medium", "sim-slow"]) {
        const port = yield* freePort()
        const command: Array<string> = services[name]!["command"]
        const args = command.map((arg, i) => command[i - 1] === "--port" ? String(port) : command[i - 1] === "--host" ? "127.0.0.1" : arg)
        const sim = yield* startAsNode(sims.app, [...entrypoint.slice(1), ...args], envIn(sims, {}))
        yield* waitFor200(`http://127.0.0.1:${port}/health`, sim)
        simPorts.set(name, port)
      }

      const lbDeployment = yield* deploy("docker/balancer.Dockerfile", "balancer")
      const lbPort = yield* freePort()
      const lbEnv = envIn(lbDeployment, { LB_HOST: "127.0.0.1", LB_PORT: String(lbPort), LB_ADMIN_TOKEN: ADMIN_TOKEN })
      const lb = yield* startAsNode(lbDeployment.app, cmdArgs(lbDeployment), lbEnv)
      const lbUrl = `http://127.0.0.1:${lbPort}`
      yield* waitFor200(`${lbUrl}/health`, lb)
      const health = yield* Effect.promise(() => fetch(`${lbUrl}/health`).then((r) => r.json()))
      expect(health).toMatchObject({ status: "ok", version: JSON.parse(read("apps/balancer/package.json")).version })

      // demo-setup with its compose environment, the compose host names pointed at the loopback ports.
      const setupEnv = serviceEnv(services["demo-setup"]!)
      let endpoints = setupEnv["DEMO_ENDPOINTS"]!
      for (const [name, port] of simPorts) endpoints = endpoints.replaceAll(`//${name}:8000/`, `//127.0.0.1:${port}/`)
      const env = { LB_URL: lbUrl, LB_ADMIN_TOKEN: ADMIN_TOKEN, DEMO_ENDPOINTS: endpoints, DEMO_WAIT_SECONDS: "20" }
      const entry: Array<string> = services["demo-setup"]!["entrypoint"]
      const first = yield* runAsNode(sims.app, entry.slice(1), env)
      expect(first.code, first.output).toBe(0)
      expect(first.output.match(/registered sim-/g)).toHaveLength(3)

      const admin = { "x-admin-token": ADMIN_TOKEN }
      const listed: Array<any> = yield* Effect.promise(() => fetch(`${lbUrl}/admin/api/endpoints`, { headers: admin }).then((r) => r.json()))
      expect(listed.map((e) => [e.name, e.connected, e.token_quota_percent]).sort()).toEqual([
        ["sim-fast", true, 50],
        ["sim-medium", true, 30],
        ["sim-slow", true, 20]
      ])
      const chat = yield* Effect.promise(() =>
        fetch(`${lbUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "demo-model", messages: [{ role: "user", content: "hello" }], max_tokens: 4 })
        })
      )
      expect(chat.status).toBe(200)
      expect(listed.map((e) => e.name)).toContain(chat.headers.get("x-lb-endpoint"))

      const again = yield* runAsNode(sims.app, entry.slice(1), env)
      expect(again.code, again.output).toBe(0)
      expect(again.output.match(/already registered/g)).toHaveLength(3)
      const after: Array<unknown> = yield* Effect.promise(() => fetch(`${lbUrl}/admin/api/endpoints`, { headers: admin }).then((r) => r.json()))
      expect(after).toHaveLength(3)

      // The balancer's own online backup lands in the volume, with the wiring in it.
      const backup = yield* Effect.promise(() =>
        fetch(`${lbUrl}/admin/api/db/backup`, { method: "POST", headers: admin }).then(async (r) => ({ status: r.status, body: await r.json() }))
      )
      expect(backup.status).toBe(200)
      expect(backup.body.path.startsWith(join(lbDeployment.data, "backups") + "/")).toBe(true)
      const Database = createRequire(join(lbDeployment.app, "package.json"))("better-sqlite3")
      const copy = new Database(backup.body.path, { readonly: true, fileMustExist: true })
      expect(copy.prepare("SELECT name FROM endpoints ORDER BY name").all()).toEqual([
        { name: "sim-fast" },
        { name: "sim-medium" },
        { name: "sim-slow" }
      ])
      copy.close()
    }))
})

describe("docker/deploy.mjs", () => {
  it("refuses an unknown target with its usage and exit code 1", () => {
    const run = spawnSync(process.execPath, ["docker/deploy.mjs", "toString", "/tmp/llmlb-never-written"], { cwd: ROOT, encoding: "utf8" })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain("usage: node docker/deploy.mjs balancer|producer|upstream-sim <out-dir>")
    expect(existsSync("/tmp/llmlb-never-written")).toBe(false)
  })
})
