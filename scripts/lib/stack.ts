/**
 * Starting the product's parts for the dev scripts: simulated upstreams (the upstream-sim CLI) and the built
 * balancer (`apps/balancer/dist/main.js`), each in its own child process, plus the few admin calls that wire
 * them. Everything listens on and talks to loopback addresses only.
 */
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { State } from "../../packages/api/src/AdminApi.js"
import type { EndpointPublic } from "../../packages/core/src/Endpoint.js"
import type { SimOptions } from "../../packages/upstream-sim/src/Options.js"
import type { SimCounters } from "../../packages/upstream-sim/src/Sim.js"
import { type Child, type Children, waitForLine } from "./children.js"

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
export const balancerMain = join(repoRoot, "apps", "balancer", "dist", "main.js")

/** Runs a TypeScript file of this repo in a plain node process (tsx as a loader: one process, the pid is its own). */
export const tsNodeArgs = (file: string, args: ReadonlyArray<string>): Array<string> =>
  ["--import", "tsx", join(repoRoot, file), ...args]

/** Throws with a clear message when the balancer has not been built. */
export const requireBuiltBalancer = (): void => {
  if (!existsSync(balancerMain)) {
    throw new Error(`${balancerMain} is missing: build it first (corepack pnpm build)`)
  }
}

/** A port the OS considers free right now on `host` (asked with port 0, then released). */
export const freePort = (host = "127.0.0.1"): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** Whether `port` can be bound on `host` now (false on EADDRINUSE / EACCES). */
export const portAvailable = (port: number, host: string): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })

export interface SimProcess {
  readonly child: Child
  /** `http://127.0.0.1:<port>` (control routes `/sim/*`). */
  readonly url: string
  /** `http://127.0.0.1:<port>/v1`, the OpenAI base URL. */
  readonly baseUrl: string
}

/** Starts the upstream-sim CLI on a free loopback port; `args` are its flags (`--model`, `--ttft-ms`, ...). */
export const startSimProcess = async (
  children: Children,
  name: string,
  args: ReadonlyArray<string>
): Promise<SimProcess> => {
  const child = children.spawn(
    name,
    process.execPath,
    tsNodeArgs("packages/upstream-sim/src/cli.ts", ["--host", "127.0.0.1", "--port", "0", ...args]),
    { cwd: repoRoot }
  )
  const match = await waitForLine(child, /listening on (http:\/\/\S+) \(OpenAI base URL (\S+);/, 20_000)
  return { child, url: match[1]!, baseUrl: match[2]! }
}

export interface BalancerProcess {
  readonly child: Child
  /** `http://127.0.0.1:<port>` */
  readonly url: string
}

export interface BalancerOptions {
  readonly port: number
  /** The address it binds; the scripts talk to it on 127.0.0.1 either way. */
  readonly host: string
  /** The whole environment of the process; the LB_PORT and LB_HOST given above override it. */
  readonly env: NodeJS.ProcessEnv
  readonly onLine?: (line: string) => void
}

/** Starts `node apps/balancer/dist/main.js` and waits until `GET /health` answers 200. */
export const startBalancer = async (children: Children, options: BalancerOptions): Promise<BalancerProcess> => {
  requireBuiltBalancer()
  const child = children.spawn("balancer", process.execPath, [balancerMain], {
    cwd: repoRoot,
    env: { ...options.env, LB_PORT: String(options.port), LB_HOST: options.host },
    ...(options.onLine === undefined ? {} : { onLine: options.onLine })
  })
  const url = `http://127.0.0.1:${options.port}`
  await waitUntilUp(child, `${url}/health`, (status) => status === 200)
  return { child, url }
}

/**
 * Polls `probe` every 100 ms until `isUp(status)` holds; throws with the child's last output if it exits
 * first or 30 s pass.
 */
export const waitUntilUp = async (child: Child, probe: string, isUp: (status: number) => boolean): Promise<void> => {
  const deadline = Date.now() + 30_000
  for (;;) {
    const exited = await Promise.race([child.exited.then(() => true), sleep(100).then(() => false)])
    if (exited) throw new Error(`the ${child.name} exited during start-up:\n${child.tail()}`)
    const up = await fetch(probe, { signal: AbortSignal.timeout(2_000) })
      .then((res) => isUp(res.status))
      .catch(() => false)
    if (up) return
    if (Date.now() > deadline) throw new Error(`the ${child.name} did not answer ${probe} within 30 s:\n${child.tail()}`)
  }
}

export interface EndpointSpec {
  readonly name: string
  readonly base_url: string
  readonly token_quota_percent?: number
  readonly priority_order?: number
  readonly max_concurrent?: number
}

/** Sends a JSON body (a string is sent as it is), 10 s at most; throws with the status and body unless 2xx. */
export const sendJson = async (
  method: "POST" | "PATCH",
  url: string,
  body: unknown,
  headers: Record<string, string> = {}
): Promise<Response> => {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000)
  })
  if (!res.ok) throw new Error(`${method} ${url} failed: ${res.status} ${await res.text()}`)
  return res
}

export const postJson = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  sendJson("POST", url, body, headers)

/** GETs a JSON answer, 10 s at most; throws with the status and body unless 2xx. */
export const getJson = async <A>(url: string, headers: Record<string, string> = {}): Promise<A> => {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  if (!res.ok) throw new Error(`GET ${url} failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as A
}

/** The few admin API calls the scripts make, with the `X-Admin-Token` header. */
export interface Admin {
  /** `POST /admin/api/endpoints`, connected to the default incoming block (wired to traffic). */
  readonly addEndpoint: (endpoint: EndpointSpec) => Promise<EndpointPublic>
  /** `PATCH /admin/api/endpoints/{id}`. */
  readonly patchEndpoint: (id: string, patch: Partial<Omit<EndpointSpec, "name" | "base_url">>) => Promise<void>
  /** `PATCH /admin/api/routing`, the default block's (global) routing mode. */
  readonly setRoutingMode: (mode: State["routing_mode"]) => Promise<void>
  /** `GET /admin/api/state`. */
  readonly state: () => Promise<State>
}

export const adminClient = (balancerUrl: string, adminToken: string): Admin => {
  const api = `${balancerUrl}/admin/api`
  const headers = { "x-admin-token": adminToken }
  return {
    addEndpoint: async (endpoint) =>
      (await (await postJson(`${api}/endpoints`, { ...endpoint, connected: true }, headers)).json()) as EndpointPublic,
    patchEndpoint: async (id, patch) => void await sendJson("PATCH", `${api}/endpoints/${id}`, patch, headers),
    setRoutingMode: async (mode) => void await sendJson("PATCH", `${api}/routing`, { mode }, headers),
    state: () => getJson<State>(`${api}/state`, headers)
  }
}

export interface BenchBalancer extends BalancerProcess {
  readonly admin: Admin
}

/**
 * The built balancer for a benchmark: loopback only, a throw-away database in `tempDir`, a random admin token,
 * errors-only logging, the response cache off (every request must reach an upstream); `env` adds or overrides.
 */
export const startBenchBalancer = async (
  children: Children,
  tempDir: string,
  env: NodeJS.ProcessEnv = {}
): Promise<BenchBalancer> => {
  const adminToken = randomBytes(16).toString("hex")
  const balancer = await startBalancer(children, {
    port: await freePort(),
    host: "127.0.0.1",
    env: {
      PATH: process.env["PATH"],
      LB_DB_PATH: join(tempDir, "bench.db"),
      LB_ADMIN_TOKEN: adminToken,
      LB_LOG_LEVEL: "ERROR",
      LB_CACHE_MODE: "off",
      ...env
    }
  })
  return { ...balancer, admin: adminClient(balancer.url, adminToken) }
}

/** The simulator's counters (`GET /sim/stats`). */
export const simStats = (sim: SimProcess): Promise<SimCounters> => getJson<SimCounters>(`${sim.url}/sim/stats`)

/** Zeroes the simulator's counters (`POST /sim/reset`); `maxRunning` starts again from the requests running now. */
export const resetSim = async (sim: SimProcess): Promise<void> => void await postJson(`${sim.url}/sim/reset`, {})

/** Changes the simulator's options at run time (`POST /sim/config`, a partial patch). */
export const configureSim = async (sim: SimProcess, patch: Partial<SimOptions>): Promise<void> =>
  void await postJson(`${sim.url}/sim/config`, patch)

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
