/**
 * Time of one routing decision per mode at 50 endpoints (issue 13: synchronous, under 5 us), measured on the
 * balancer's own RoutingEngine built in this process (the whole BalancerLive layer, a throw-away database,
 * no upstream ever contacted): `acquire` then `release` of a lease on the default block, repeated. Mode
 * load gets a 4,000-token prompt's hash chain (250 blocks), with every endpoint's prefix set holding other
 * prompts and one endpoint holding this one, the worst case of its leading-match search; the chain's
 * hashing (done once per request when the body is parsed, not per decision) is timed on its own.
 * `measureScrapeCpu`: the CPU the engine-metrics scrapes of 50 endpoints every second cost the scraping
 * process, against the same balancer with scraping off; the servers answering them (a 35 KB vLLM-like
 * exposition each) run in a child process, so only the scraper's side is counted.
 */
import { Effect, ConfigProvider, Context, Layer } from "effect"
import { join } from "node:path"
import { BalancerLive } from "../../apps/balancer/src/App.js"
import { chainOf } from "../../apps/balancer/src/routing/PrefixHash.js"
import { RoutingEngine } from "../../apps/balancer/src/routing/RoutingEngine.js"
import { Topology } from "../../apps/balancer/src/store/Topology.js"
import { type Children, waitForLine } from "./children.js"
import { repoRoot, tsNodeArgs } from "./stack.js"

export const ENDPOINTS = 50
const ITERATIONS = 20_000
const PROMPT_CHARS = 16_000

export interface DecisionTimes {
  /** Mean microseconds of acquire + release, per mode. */
  readonly percentage: number
  readonly priority: number
  readonly load: number
  /** Microseconds to hash a 16,000-character prompt into its chain. */
  readonly hashChain: number
}

const text = (seed: number) => {
  let s = ""
  for (let i = 0; s.length < PROMPT_CHARS; i++) s += `w${seed}x${i} `
  return s
}

/** The balancer's layers in this process with ENDPOINTS endpoints on the default block. */
const withEndpoints = (dbFile: string, scrapeSeconds: string, metricsUrl: (i: number) => string | null) =>
  Effect.gen(function*() {
    const provider = ConfigProvider.fromMap(new Map(Object.entries({
      LB_PORT: "0",
      LB_HOST: "127.0.0.1",
      LB_DB_PATH: dbFile,
      LB_ADMIN_TOKEN: "decision-benchmark-token",
      LB_LOG_LEVEL: "ERROR",
      LB_ENGINE_METRICS_SECONDS: scrapeSeconds,
      LB_MODELS_REFRESH_SECONDS: "86400"
    })))
    const context = yield* Layer.build(BalancerLive.pipe(Layer.provide(Layer.setConfigProvider(provider))))
    const topology = Context.get(context, Topology)
    for (let i = 0; i < ENDPOINTS; i++) {
      yield* topology.create({
        name: `endpoint-${i}`,
        // Never contacted: the model list fetch fails at once and an unknown list serves every model.
        base_url: `http://127.0.0.1:9/v1`,
        api_key: null,
        enabled: true,
        connected: true,
        token_quota_percent: 2,
        priority_order: i % 5,
        max_concurrent: 0,
        timeout: null,
        verify_tls: true,
        metrics_url: metricsUrl(i),
        pos_x: 0,
        pos_y: 0
      })
    }
    return { topology, routing: Context.get(context, RoutingEngine) }
  })

export const measureDecisions = (tempDir: string): Promise<DecisionTimes> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { routing, topology } = yield* withEndpoints(join(tempDir, "decisions.db"), "0", () => null)
    const block = topology.defaultBlock()
    const chain = chainOf(text(0), "model")
    const work = { chain, promptTokens: PROMPT_CHARS / 4, decodeTokens: 256, session: undefined }

    const time = (mode: "percentage" | "priority" | "load") =>
      Effect.gen(function*() {
        yield* topology.setRoutingMode(mode)
        const once = () => {
          const lease = routing.acquire(topology.defaultBlock(), "model", 4256, undefined, mode === "load" ? work : undefined)
          if (!("endpoint" in lease)) throw new Error(`no lease in mode ${mode}: ${JSON.stringify(lease)}`)
          routing.release(lease, { kind: "success", tokens: 4256 })
        }
        if (mode === "load") {
          // Every endpoint holds other prompts; one also holds this one.
          for (let i = 1; i <= ENDPOINTS; i++) {
            const other = chainOf(text(i), "model")
            const lease = routing.acquire(block, "model", 1, undefined, { ...work, chain: other })
            if ("endpoint" in lease) routing.release(lease, { kind: "success", tokens: 1 })
          }
        }
        for (let i = 0; i < 1000; i++) once() // warm-up: JIT
        const t0 = performance.now()
        for (let i = 0; i < ITERATIONS; i++) once()
        return ((performance.now() - t0) * 1000) / ITERATIONS
      })

    const percentage = yield* time("percentage")
    const priority = yield* time("priority")
    const load = yield* time("load")
    const sample = text(7)
    for (let i = 0; i < 100; i++) chainOf(sample, "model")
    const t0 = performance.now()
    for (let i = 0; i < 1000; i++) chainOf(sample, "model")
    const hashChain = (performance.now() - t0)
    return { percentage, priority, load, hashChain }
  })))

/** Seconds of each scrape CPU measurement (BENCH_SCRAPE_SECONDS). */
const SCRAPE_SECONDS = Number(process.env["BENCH_SCRAPE_SECONDS"] ?? "20")

export interface ScrapeRun {
  /** Percent of one core the scraping process used. */
  readonly percent: number
  /** Scrapes the servers answered in the measured window (ENDPOINTS a second expected when on). */
  readonly scrapes: number
  readonly seconds: number
}

export interface ScrapeCpu {
  readonly off: ScrapeRun
  /** Servers that answer everything (no name[] filter), then servers that honour it as vLLM's does. */
  readonly full: ScrapeRun
  readonly filtered: ScrapeRun
  /** Size of each whole exposition. */
  readonly bodyBytes: number
}

/**
 * Percent of one core this process used over SCRAPE_SECONDS, the balancer's layers built in it with
 * ENDPOINTS endpoints (metrics at `path` on `ports`) scraped every `scrapeSeconds` (0 = off), after a
 * settling time (connections opened, code compiled). Also the scrapes answered meanwhile, from the
 * servers' count.
 */
const cpuWhileScraping = (dbFile: string, scrapeSeconds: string, ports: ReadonlyArray<number>, path: string) =>
  Effect.scoped(Effect.gen(function*() {
    yield* withEndpoints(dbFile, scrapeSeconds, (i) => `http://127.0.0.1:${ports[i % ports.length]}${path}`)
    const served = () => Effect.promise(() => fetch(`http://127.0.0.1:${ports[0]}/count`).then((r) => r.text()).then(Number))
    yield* Effect.sleep("3 seconds")
    const before = process.cpuUsage()
    const t0 = performance.now()
    const scrapes0 = yield* served()
    yield* Effect.sleep(`${SCRAPE_SECONDS} seconds`)
    const used = process.cpuUsage(before)
    const wallMs = performance.now() - t0
    const scrapes = (yield* served()) - scrapes0
    return { percent: ((used.user + used.system) / 1000 / wallMs) * 100, scrapes, seconds: wallMs / 1000 }
  }))

/**
 * The CPU that scraping ENDPOINTS engines' /metrics every second costs the balancer: ENDPOINTS servers in a
 * child process (scripts/lib/metrics-servers.ts, a vLLM-sized exposition each), scraped by the balancer's
 * EngineMetrics in this process; this process's CPU time over wall time, with scraping off, then on
 * against servers without and with the name[] filter.
 */
export const measureScrapeCpu = async (children: Children, tempDir: string): Promise<ScrapeCpu> => {
  const child = children.spawn("metrics-servers", process.execPath, tsNodeArgs("scripts/lib/metrics-servers.ts", [String(ENDPOINTS)]), { cwd: repoRoot })
  try {
    const match = await waitForLine(child, /metrics servers: (\d+) bytes each on ([\d ]+)/, 120_000)
    const ports = match[2]!.trim().split(" ").map(Number)
    const run = (name: string, seconds: string, path: string) =>
      Effect.runPromise(cpuWhileScraping(join(tempDir, `scrape-${name}.db`), seconds, ports, path))
    const off = await run("off", "0", "/metrics")
    const full = await run("full", "1", "/metrics-full")
    const filtered = await run("filtered", "1", "/metrics")
    return { off, full, filtered, bodyBytes: Number(match[1]) }
  } finally {
    child.process.kill("SIGTERM")
    await child.exited
  }
}
