/**
 * Time of one routing decision per mode at 50 endpoints (issue 13: synchronous, under 5 us), measured on the
 * balancer's own RoutingEngine built in this process (the whole BalancerLive layer, a throw-away database,
 * no upstream ever contacted): `acquire` then `release` of a lease on the default block, repeated. Mode
 * load gets a 4,000-token prompt's hash chain (250 blocks), with every endpoint's prefix set holding other
 * prompts and one endpoint holding this one, the worst case of its leading-match search; the chain's
 * hashing (done once per request when the body is parsed, not per decision) is timed on its own.
 * `measureScrapeCpu`: the CPU the engine-metrics scrapes of 50 endpoints every second cost, against the same
 * balancer with scraping off; the in-process server answering them (a 17 KB vLLM-like exposition) is counted
 * too, so it is an upper bound.
 */
import { Effect, ConfigProvider, Context, Layer } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { BalancerLive } from "../../apps/balancer/src/App.js"
import { chainOf } from "../../apps/balancer/src/routing/PrefixHash.js"
import { RoutingEngine } from "../../apps/balancer/src/routing/RoutingEngine.js"
import { Topology } from "../../apps/balancer/src/store/Topology.js"

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
const withEndpoints = (dbFile: string, scrapeSeconds: string, metricsUrl: string | null) =>
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
        metrics_url: metricsUrl,
        pos_x: 0,
        pos_y: 0
      })
    }
    return { topology, routing: Context.get(context, RoutingEngine) }
  })

export const measureDecisions = (tempDir: string): Promise<DecisionTimes> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { routing, topology } = yield* withEndpoints(join(tempDir, "decisions.db"), "0", null)
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

const SCRAPE_SECONDS = 20

/** Percent of one core the process used over SCRAPE_SECONDS with ENDPOINTS endpoints scraped every `scrapeSeconds`. */
const cpuWhileScraping = (dbFile: string, scrapeSeconds: string, url: string) =>
  Effect.scoped(Effect.gen(function*() {
    yield* withEndpoints(dbFile, scrapeSeconds, url)
    yield* Effect.sleep("3 seconds")
    const before = process.cpuUsage()
    const t0 = performance.now()
    yield* Effect.sleep(`${SCRAPE_SECONDS} seconds`)
    const used = process.cpuUsage(before)
    return ((used.user + used.system) / 1000 / (performance.now() - t0)) * 100
  }))

/** Extra percent of one core that scraping ENDPOINTS endpoints every second costs (server included). */
export const measureScrapeCpu = async (tempDir: string): Promise<{ readonly off: number; readonly on: number }> => {
  let body = `vllm:cache_config_info{block_size="16",num_gpu_blocks="4000"} 1.0\n`
  for (let i = 0; i < 300; i++) body += `vllm:request_latency_bucket{le="${i}",model_name="m"} ${i * 7}\n`
  body += `vllm:num_requests_waiting{model_name="m"} 2\nvllm:num_requests_running{model_name="m"} 5\nvllm:kv_cache_usage_perc{model_name="m"} 0.3\n`
  const server = http.createServer((_, res) => {
    res.writeHead(200, { "content-type": "text/plain" })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
  try {
    const off = await Effect.runPromise(cpuWhileScraping(join(tempDir, "scrape-off.db"), "0", url))
    const on = await Effect.runPromise(cpuWhileScraping(join(tempDir, "scrape-on.db"), "1", url))
    return { off, on }
  } finally {
    server.closeAllConnections()
    server.close()
  }
}
