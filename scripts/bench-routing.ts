/**
 * `corepack pnpm bench:routing`: how closely the balancer keeps to its routing rules (DESIGN.md, "Traffic
 * model"). It prints figures and asserts nothing.
 *
 * Method. Every part runs in its own process on 127.0.0.1: three simulated upstreams (the upstream-sim CLI,
 * output-tokens 512 so that each request's max_tokens decides its completion size), the built balancer
 * (`apps/balancer/dist/main.js`, a throw-away SQLite database, the simulators connected as endpoints with token
 * quotas 50/30/20 and priorities 0/1/2) and the load generator (`scripts/lib/load.ts`), which draws every
 * request's size from a PRNG seeded with BENCH_SEED (default 1), so that runs are comparable.
 * 1. Percentage mode, zero upstream delays: 2,000 chat completions, 16 in flight, prompts of 1-400 words,
 *    max_tokens 1-512, half of them streamed. Per endpoint: the requests it answered (`X-LB-Endpoint`), its
 *    tokens as the simulator counted them (prompt + completion, `GET /sim/stats`), cross-checked against the
 *    simulator's completed count and the balancer's own stats (`GET /admin/api/state`), and its share of all
 *    tokens against its quota's. Target: the largest deviation <= 1 percentage point.
 * 2. Priority mode, upstreams with ttft 50 ms and itl 2 ms, max_concurrent 4 (priority 0), 8 (priority 1) and
 *    unlimited (priority 2): 500 streamed chat completions (prompts of 1-100 words, max_tokens 16-64), 24 in
 *    flight. Per endpoint: the requests it served and its peak in-flight count, seen two ways: the simulator's
 *    `maxRunning` and the balancer's `inflight` in its state, polled every 10 ms during the run. Target: a
 *    peak never above the endpoint's max_concurrent.
 * 3. Decision time per mode at 50 endpoints (scripts/lib/decision-time.ts: the RoutingEngine in this process,
 *    acquire + release). Target: under 5 us each, mode load included.
 * 4. The CPU of scraping 50 endpoints' engine metrics every second (the balancer's EngineMetrics in this
 *    process, 50 vLLM-sized expositions served by a child process), against scraping off: this process's
 *    CPU time over wall time (BENCH_SCRAPE_SECONDS, default 20, each), from servers that answer the whole
 *    exposition and from servers that honour the name[] filter the scrapes send (vLLM's /metrics does).
 *    Target: under 1 % of a core.
 * BENCH_ROUTING_PARTS=3,4 runs the last two only.
 */
import type { Children } from "./lib/children.js"
import type { RequestsJob, RequestsResult } from "./lib/load.js"
import { fixed, grouped, out, row, signed, title, verdict } from "./lib/report.js"
import { runLoad } from "./lib/run-load.js"
import { ENDPOINTS, measureDecisions, measureScrapeCpu, type ScrapeRun } from "./lib/decision-time.js"
import { runInSession } from "./lib/session.js"
import {
  type BenchBalancer,
  configureSim,
  resetSim,
  type SimProcess,
  simStats,
  sleep,
  startBenchBalancer,
  startSimProcess
} from "./lib/stack.js"

const MODEL = "routing-model"

const UPSTREAMS = [
  { name: "sim-a", quota: 50, priority: 0, maxConcurrent: 4 },
  { name: "sim-b", quota: 30, priority: 1, maxConcurrent: 8 },
  { name: "sim-c", quota: 20, priority: 2, maxConcurrent: 0 }
] as const

const PERCENTAGE_REQUESTS = 2_000
const PERCENTAGE_CONCURRENCY = 16
const TARGET_DEVIATION_PP = 1

const PRIORITY_REQUESTS = 500
const PRIORITY_CONCURRENCY = 24
const PRIORITY_TTFT_MS = 50
const PRIORITY_ITL_MS = 2
const POLL_MS = 10

interface Upstream {
  readonly name: string
  readonly quota: number
  readonly priority: number
  readonly maxConcurrent: number
  readonly id: string
  readonly sim: SimProcess
}

/** What both parts run on. */
interface Bench {
  readonly children: Children
  readonly balancer: BenchBalancer
  readonly upstreams: ReadonlyArray<Upstream>
  readonly seed: number
}

/** What the balancer has counted for one endpoint so far. */
interface Counted {
  readonly requests: number
  readonly tokens: number
}

const countedByEndpoint = async (balancer: BenchBalancer): Promise<Map<string, Counted>> => {
  const state = await balancer.admin.state()
  return new Map(state.endpoints.map((e) => [e.id, {
    requests: e.stats.requests,
    tokens: e.stats.prompt_tokens + e.stats.completion_tokens
  }]))
}

/** Waits (5 s at most) until the balancer has nothing in flight: its stats of the last requests are final then. */
const settled = async (balancer: BenchBalancer): Promise<void> => {
  const deadline = Date.now() + 5_000
  while ((await balancer.admin.state()).global.total_inflight > 0 && Date.now() < deadline) await sleep(POLL_MS)
}

/** Runs `job` from fresh simulator counters; the balancer's counts are those of this run only (after - before). */
const measureRun = async (
  { balancer, children, upstreams }: Bench,
  job: RequestsJob,
  watch?: { readonly start: () => void; readonly stop: () => Promise<void> }
) => {
  await Promise.all(upstreams.map((u) => resetSim(u.sim)))
  const before = await countedByEndpoint(balancer)
  const result = await runLoad(children, job, async () => watch?.start())
  await watch?.stop()
  await settled(balancer)
  const after = await countedByEndpoint(balancer)
  const sims = await Promise.all(upstreams.map((u) => simStats(u.sim)))
  const balancerCounted = upstreams.map(({ id }): Counted => ({
    requests: (after.get(id)?.requests ?? 0) - (before.get(id)?.requests ?? 0),
    tokens: (after.get(id)?.tokens ?? 0) - (before.get(id)?.tokens ?? 0)
  }))
  return { result, sims, balancerCounted }
}

const requestsLine = (r: RequestsResult): string =>
  `  ${grouped(r.completed)} completed in ${fixed(r.seconds, 2)} s (${grouped(r.completed / r.seconds)} req/s), ` +
  `${r.failures} failed${r.firstFailure === null ? "" : ` (first: ${r.firstFailure})`}`

const job = ({ balancer, seed }: Bench, fields: Omit<RequestsJob, "kind" | "url" | "model" | "seed">): RequestsJob => ({
  kind: "requests",
  url: `${balancer.url}/v1/chat/completions`,
  model: MODEL,
  seed,
  ...fields
})

// --- 1. percentage -------------------------------------------------------------------------------------------

const percentageWidths = [10, 8, 10, 12, 10, 10, 0]

const benchPercentage = async (bench: Bench): Promise<void> => {
  const { balancer, seed, upstreams } = bench
  await balancer.admin.setRoutingMode("percentage")
  const { balancerCounted, result, sims } = await measureRun(bench, job(bench, {
    count: PERCENTAGE_REQUESTS,
    concurrency: PERCENTAGE_CONCURRENCY,
    promptWords: [1, 400],
    maxTokens: [1, 512],
    streamShare: 0.5
  }))
  out(`percentage routing: ${grouped(PERCENTAGE_REQUESTS)} chat completions, ${PERCENTAGE_CONCURRENCY} in flight, prompts of ` +
    `1-400 words, max_tokens 1-512, half streamed (seed ${seed}); upstreams without delays`)
  out(requestsLine(result))
  const tokens = sims.map((s) => s.promptTokens + s.completionTokens)
  const total = tokens.reduce((a, b) => a + b, 0)
  const quotaSum = upstreams.reduce((a, u) => a + u.quota, 0)
  out(row(["endpoint", "quota", "requests", "tokens", "share %", "target %", "deviation pp"], percentageWidths))
  let maxDeviation = 0
  for (const [i, u] of upstreams.entries()) {
    const share = (100 * tokens[i]!) / total
    const target = (100 * u.quota) / quotaSum
    maxDeviation = Math.max(maxDeviation, Math.abs(share - target))
    out(row([
      u.name,
      `${u.quota}`,
      grouped(result.byEndpoint[u.name] ?? 0),
      grouped(tokens[i]!),
      fixed(share, 2),
      fixed(target, 2),
      signed(share - target)
    ], percentageWidths))
  }
  out(`  max |deviation|: ${fixed(maxDeviation, 2)} pp   target <= ${TARGET_DEVIATION_PP} pp: ` +
    verdict(maxDeviation <= TARGET_DEVIATION_PP))
  out(`  ${grouped(total)} tokens in all; the largest single request ${grouped(result.largestRequestTokens)} tokens at most ` +
    `(${fixed((100 * result.largestRequestTokens) / total, 3)} % of all)`)
  // Three counts of one thing: they must agree, or the figures above measure the wrong thing.
  const mismatches = upstreams.flatMap((u, i) => {
    const problems: Array<string> = []
    const byHeader = result.byEndpoint[u.name] ?? 0
    if (sims[i]!.completed !== byHeader) problems.push(`simulator completed ${sims[i]!.completed}, X-LB-Endpoint ${byHeader}`)
    if (balancerCounted[i]!.requests !== byHeader) problems.push(`balancer requests ${balancerCounted[i]!.requests}, X-LB-Endpoint ${byHeader}`)
    if (balancerCounted[i]!.tokens !== tokens[i]) problems.push(`balancer tokens ${balancerCounted[i]!.tokens}, simulator ${tokens[i]}`)
    return problems.map((p) => `${u.name}: ${p}`)
  })
  out(mismatches.length === 0 ?
    "  cross-check: requests (X-LB-Endpoint = simulator completed = balancer stats) and tokens (simulator = balancer stats) agree" :
    `  cross-check MISMATCH: ${mismatches.join("; ")}`)
}

// --- 2. priority ---------------------------------------------------------------------------------------------

/** Polls the balancer's state every POLL_MS while started; keeps each endpoint's peak in-flight count. */
const inflightWatch = (balancer: BenchBalancer) => {
  const peaks = new Map<string, number>()
  let polls = 0
  let running = false
  let loop: Promise<void> = Promise.resolve()
  return {
    peaks,
    polls: () => polls,
    start: () => {
      running = true
      loop = (async () => {
        const startedAt = performance.now()
        while (running) {
          for (const e of (await balancer.admin.state()).endpoints) peaks.set(e.id, Math.max(peaks.get(e.id) ?? 0, e.inflight))
          polls++
          // the next poll on the 10 ms grid (at once when this one took longer)
          await sleep(Math.max(0, startedAt + polls * POLL_MS - performance.now()))
        }
      })()
    },
    stop: () => {
      running = false
      return loop
    }
  }
}

const priorityWidths = [10, 10, 16, 10, 14, 14, 0]

const benchPriority = async (bench: Bench): Promise<void> => {
  const { balancer, upstreams } = bench
  for (const u of upstreams) {
    await configureSim(u.sim, { ttftMs: PRIORITY_TTFT_MS, interTokenMs: PRIORITY_ITL_MS })
    await balancer.admin.patchEndpoint(u.id, { max_concurrent: u.maxConcurrent })
  }
  await balancer.admin.setRoutingMode("priority")
  const watch = inflightWatch(balancer)
  const { result, sims } = await measureRun(bench, job(bench, {
    count: PRIORITY_REQUESTS,
    concurrency: PRIORITY_CONCURRENCY,
    promptWords: [1, 100],
    maxTokens: [16, 64],
    streamShare: 1
  }), watch)
  out(`priority routing: ${grouped(PRIORITY_REQUESTS)} streamed chat completions, ${PRIORITY_CONCURRENCY} in flight, ` +
    `prompts of 1-100 words, max_tokens 16-64; upstreams ttft ${PRIORITY_TTFT_MS} ms, itl ${PRIORITY_ITL_MS} ms`)
  out(requestsLine(result))
  out(row(["endpoint", "priority", "max_concurrent", "requests", "peak (sim)", "peak (state)", "verdict"], priorityWidths))
  for (const [i, u] of upstreams.entries()) {
    const peakSim = sims[i]!.maxRunning
    const peakState = watch.peaks.get(u.id) ?? 0
    const within = u.maxConcurrent === 0 || Math.max(peakSim, peakState) <= u.maxConcurrent
    out(row([
      u.name,
      `${u.priority}`,
      u.maxConcurrent === 0 ? "unlimited" : `${u.maxConcurrent}`,
      grouped(result.byEndpoint[u.name] ?? 0),
      `${peakSim}`,
      `${peakState}`,
      within ? "ok" : "EXCEEDED"
    ], priorityWidths))
  }
  out(`  peak (sim): the simulator's maxRunning; peak (state): /admin/api/state inflight, polled ${grouped(watch.polls())} ` +
    `times every ${POLL_MS} ms`)
}

// --- the run -------------------------------------------------------------------------------------------------

const startUpstreams = async (children: Children, balancer: BenchBalancer): Promise<Array<Upstream>> => {
  const sims = await Promise.all(UPSTREAMS.map((u) =>
    startSimProcess(children, u.name, ["--model", MODEL, "--output-tokens", "512"])
  ))
  const upstreams: Array<Upstream> = []
  for (const [i, u] of UPSTREAMS.entries()) {
    const sim = sims[i]!
    const { id } = await balancer.admin.addEndpoint({
      name: u.name,
      base_url: sim.baseUrl,
      token_quota_percent: u.quota,
      priority_order: u.priority
    })
    upstreams.push({ ...u, id, sim })
  }
  return upstreams
}

runInSession("bench-routing", async ({ children, tempDir }) => {
  const seed = Number(process.env["BENCH_SEED"] ?? "1")
  if (!Number.isInteger(seed)) throw new Error("BENCH_SEED must be an integer")
  title("routing benchmark")
  // Parts 3 and 4 alone need no balancer process nor upstreams.
  if (process.env["BENCH_ROUTING_PARTS"] === "3,4") return benchDecisions(children, tempDir)
  const balancer = await startBenchBalancer(children, tempDir, {
    LB_ADMIN_RATE_LIMIT_RPM: "1000000", // the state is polled every 10 ms
    LB_QUOTA_WINDOW_SECONDS: "3600" // the whole run inside the quota window
  })
  const bench: Bench = { children, balancer, upstreams: await startUpstreams(children, balancer), seed }
  await benchPercentage(bench)
  out()
  await benchPriority(bench)
  out()
  await benchDecisions(children, tempDir)
})

const TARGET_DECISION_US = 5

async function benchDecisions(children: Children, tempDir: string) {
  out(`3. decision time at ${ENDPOINTS} endpoints (acquire + release on the RoutingEngine, in this process)`)
  const times = await measureDecisions(tempDir)
  for (const mode of ["percentage", "priority", "load"] as const) {
    out(row([mode, `${fixed(times[mode], 2)} us`, verdict(times[mode] < TARGET_DECISION_US)], [14, 12, 0]))
  }
  out(row(["hash chain", `${fixed(times.hashChain, 1)} us`, "per 16,000-character prompt, once per request in mode load"], [14, 12, 0]))
  out()
  out(`4. CPU of the scraping process, ${ENDPOINTS} endpoints' /metrics every second (servers in another process)`)
  const cpu = await measureScrapeCpu(children, tempDir)
  const line = (label: string, r: ScrapeRun, what: string) =>
    out(row([label, `${fixed(r.percent, 2)} %`, `${what}: ${grouped(r.scrapes)} scrapes in ${fixed(r.seconds, 1)} s`], [14, 12, 0]))
  line("scraping off", cpu.off, "of a core, the balancer idle")
  line("whole bodies", cpu.full, `servers without the name[] filter, ${grouped(cpu.bodyBytes)} bytes each`)
  line("name[] filter", cpu.filtered, "servers with it, as vLLM's /metrics")
  for (const [label, r] of [["cost, whole", cpu.full], ["cost, filter", cpu.filtered]] as const) {
    const extra = r.percent - cpu.off.percent
    out(row([label, `${fixed(extra, 2)} %`, `of a core for ${ENDPOINTS} endpoints every second (on - off) ${verdict(extra < 1)}`], [14, 12, 0]))
  }
}
