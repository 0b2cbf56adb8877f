/**
 * `corepack pnpm bench:proxy`: what the balancer's data plane costs. It prints figures and asserts nothing.
 *
 * Method. Every part runs in its own process on 127.0.0.1: a simulated upstream (the upstream-sim CLI with zero
 * delays), the built balancer (`apps/balancer/dist/main.js`, LB_LOG_LEVEL=ERROR, a throw-away SQLite database,
 * the simulator registered as its one connected endpoint) and the load generator (`scripts/lib/load.ts`), so
 * this process only orchestrates and stays idle while the others work.
 * The baseline: a bare proxy (`scripts/lib/bare-proxy.ts`: node:http, one undici Pool, the body piped through
 * unparsed) in its own process in front of the same upstream, measured like the balancer: the floor of what a
 * Node proxy costs on this machine, to read the balancer's figures against.
 * 1. Non-streaming: autocannon, 64 connections, BENCH_SECONDS (default 10) after a 1 s warm-up, POST
 *    /v1/chat/completions with a small body and max_tokens 16; straight to the upstream, through the bare proxy,
 *    then through the balancer. Requests per second, p50 and p99 latency for each. A proxy's CPU time over the
 *    measured run (utime + stime from /proc/<pid>/stat, in clock ticks of `getconf CLK_TCK`) divided by the
 *    requests completed gives its CPU per request; the balancer's RSS is read after its run.
 *    Over the same measured run each proxy counts what it allocates on its V8 heap (`scripts/lib/alloc-probe.mjs`,
 *    preloaded with NODE_OPTIONS, started and stopped by SIGUSR2: a v8.GCProfiler's growth between collections),
 *    divided by the requests completed: bytes allocated per request.
 * 2. Streaming: the simulator set to ttft 20 ms, itl 5 ms, 32 tokens; after a warm-up round, 10 rounds of 50
 *    concurrent streams, each timing its first chunk with content (fetch + a stream reader), straight to the
 *    upstream, through the bare proxy and through the balancer in turns (a round each), so that noise from the
 *    machine hits all three alike. The added TTFT is the difference of the percentiles to the direct ones.
 * 3. Concurrency 1: the simulator back at zero delays, SERIAL_REQUESTS non-streaming requests one at a time per
 *    URL (node:http, one kept-alive connection each, timed with performance.now()), direct, through the bare proxy
 *    and through the balancer in turns of 100; p50 and p99 of each and the added p99 over direct.
 * Targets (DESIGN.md, "Data plane and control plane"): >= 5,000 req/s, <= 150 us CPU per request through the
 * balancer, added TTFT p50 <= 2 ms. Targets relative to the bare proxy of the same run (issue 15), each printed
 * as a ratio or difference with PASS or FAIL: CPU per request at c=64 <= 1.15x; added TTFT at 50 streams within
 * 0.3 ms of the bare proxy's at p50 and 1.5 ms at p99; added p99 at c=1 within 0.8 ms; allocation per request
 * <= 1.3x. On a 2-core machine the load generator, the balancer and the upstream share the cores, so the
 * figures are noisy: the load average is printed at the start and the end; compare runs on one machine.
 */
import { existsSync, readFileSync, rmSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import { type BareProxyProcess, startBareProxy } from "./lib/bare-proxy.js"
import type { Child, Children } from "./lib/children.js"
import type { HttpJob, HttpResult, LatencyStats, StreamStats } from "./lib/load.js"
import { clockTicksPerSecond, cpuTicks, rssMiB } from "./lib/proc.js"
import { fixed, grouped, out, row, signed, title, verdict } from "./lib/report.js"
import { runLoad } from "./lib/run-load.js"
import { runInSession } from "./lib/session.js"
import {
  type BenchBalancer,
  configureSim,
  postJson,
  repoRoot,
  type SimProcess,
  simStats,
  sleep,
  startBenchBalancer,
  startSimProcess
} from "./lib/stack.js"

const MODEL = "bench-model"
const CONNECTIONS = 64
const WARMUP_SECONDS = 1
const STREAMS = 50
const STREAM_ROUNDS = 10
const TARGET_RPS = 5_000
const TARGET_CPU_US = 150
const TARGET_ADDED_TTFT_MS = 2
const SERIAL_REQUESTS = Number(process.env["SERIAL_REQUESTS"] ?? "2000")
// Issue 15: the balancer against the bare proxy of the same run.
const MAX_CPU_RATIO = 1.15
const MAX_TTFT_P50_OVER_BARE_MS = 0.3
const MAX_TTFT_P99_OVER_BARE_MS = 1.5
const MAX_SERIAL_P99_OVER_BARE_MS = 0.8
const MAX_ALLOC_RATIO = 1.3

const chatBody = (stream: boolean, maxTokens: number): string =>
  JSON.stringify({
    model: MODEL,
    messages: [{ role: "user", content: "Write one short sentence about load balancers." }],
    max_tokens: maxTokens,
    stream
  })

// --- allocation, counted inside a proxy process by scripts/lib/alloc-probe.mjs ------------------------------

const ALLOC_PROBE = join(repoRoot, "scripts", "lib", "alloc-probe.mjs")

/** The environment that preloads the probe, writing to `file`. */
const probeEnv = (file: string): NodeJS.ProcessEnv => ({ NODE_OPTIONS: `--import ${ALLOC_PROBE}`, BENCH_ALLOC_FILE: file })

interface AllocReading {
  readonly allocatedBytes: number
  readonly gcs: number
  readonly gcMs: number
}

/** Stops the probe of `pid` (its second SIGUSR2) and reads what it wrote. */
const stopProbe = async (pid: number, file: string): Promise<AllocReading> => {
  rmSync(file, { force: true })
  process.kill(pid, "SIGUSR2")
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(50)
  return JSON.parse(readFileSync(file, "utf8")) as AllocReading
}

// --- output --------------------------------------------------------------------------------------------------

const httpWidths = [22, 10, 10, 10, 10, 0]
/** autocannon records latencies in whole milliseconds (truncated): 0 means under 1 ms. */
const wholeMs = (ms: number): string => (ms === 0 ? "<1" : `${ms}`)
const httpRow = (label: string, r: HttpResult, cpuUsPerRequest: string): string =>
  row(
    [label, grouped(r.requestsPerSecond), wholeMs(r.latencyP50Ms), wholeMs(r.latencyP99Ms), `${r.non2xx + r.errors}`, cpuUsPerRequest],
    httpWidths
  )
const streamWidths = [22, 14, 14, 0]
const streamRow = (label: string, r: StreamStats): string =>
  row([label, fixed(r.ttftP50Ms, 2), fixed(r.ttftP99Ms, 2), `${r.failures}`], streamWidths)
const addedRow = (label: string, through: StreamStats, direct: StreamStats): string =>
  row([label, signed(through.ttftP50Ms - direct.ttftP50Ms), signed(through.ttftP99Ms - direct.ttftP99Ms)], streamWidths)
const serialRow = (label: string, r: LatencyStats, direct: LatencyStats): string =>
  row([label, fixed(r.p50Ms, 3), fixed(r.p99Ms, 3), signed(r.p99Ms - direct.p99Ms), `${r.failures}`], [22, 10, 10, 14, 0])
const passFail = (met: boolean): string => (met ? "PASS" : "FAIL")

/** One line of the issue-15 summary: the figure, its limit and PASS or FAIL. */
interface Target {
  readonly name: string
  readonly figure: string
  readonly limit: string
  readonly met: boolean
}
const targetLine = ({ figure, limit, met, name }: Target): string => row([name, figure, limit, passFail(met)], [44, 22, 14, 0])
const loadLine = (): string => `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} on this machine`

// --- the run -------------------------------------------------------------------------------------------------

interface Stack {
  readonly sim: SimProcess
  readonly bare: BareProxyProcess
  readonly balancer: BenchBalancer
  /** Where each proxy's allocation probe writes. */
  readonly bareAllocFile: string
  readonly balancerAllocFile: string
}

/**
 * The simulator (zero delays), the bare proxy in front of it and the balancer with it as the one connected
 * endpoint, both with the allocation probe preloaded and checked with one request.
 */
const startStack = async (children: Children, tempDir: string): Promise<Stack> => {
  const bareAllocFile = join(tempDir, "alloc-bare.json")
  const balancerAllocFile = join(tempDir, "alloc-balancer.json")
  const sim = await startSimProcess(children, "upstream-sim", ["--model", MODEL, "--output-tokens", "16"])
  const bare = await startBareProxy(children, sim.url, probeEnv(bareAllocFile))
  const balancer = await startBenchBalancer(children, tempDir, probeEnv(balancerAllocFile))
  await balancer.admin.addEndpoint({ name: "upstream-sim", base_url: sim.baseUrl })
  for (const url of [bare.url, balancer.url]) await postJson(`${url}/v1/chat/completions`, chatBody(false, 16))
  return { sim, bare, balancer, bareAllocFile, balancerAllocFile }
}

interface ProxyRun {
  readonly result: HttpResult
  readonly cpuUsPerRequest: number
  readonly allocBytesPerRequest: number
  readonly gcs: number
  /** Requests the upstream answered during the measured run. */
  readonly upstreamAnswered: number
}
/**
 * An HTTP job through the proxy `proxy`, its CPU time, its heap allocation (its probe writing to `allocFile`) and
 * the upstream's answers counted over the measured part.
 */
const measureProxy = async (
  children: Children,
  job: HttpJob,
  proxy: Child,
  allocFile: string,
  sim: SimProcess
): Promise<ProxyRun> => {
  let ticksBefore = 0
  let upstreamBefore = 0
  const result = await runLoad(children, job, async () => {
    upstreamBefore = (await simStats(sim)).completed
    process.kill(proxy.pid, "SIGUSR2") // the probe starts counting
    ticksBefore = cpuTicks(proxy.pid)
  })
  const ticks = cpuTicks(proxy.pid) - ticksBefore
  const alloc = await stopProbe(proxy.pid, allocFile)
  return {
    result,
    cpuUsPerRequest: (ticks * 1e6) / clockTicksPerSecond() / result.requests,
    allocBytesPerRequest: alloc.allocatedBytes / result.requests,
    gcs: alloc.gcs,
    upstreamAnswered: (await simStats(sim)).completed - upstreamBefore
  }
}

const benchNonStreaming = async (
  children: Children,
  { balancer, balancerAllocFile, bare, bareAllocFile, sim }: Stack,
  seconds: number
): Promise<ReadonlyArray<Target>> => {
  const job = (url: string): HttpJob => ({
    kind: "http",
    url: `${url}/chat/completions`,
    body: chatBody(false, 16),
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_SECONDS,
    seconds
  })
  out(`non-streaming POST /v1/chat/completions, max_tokens 16, ${CONNECTIONS} connections, ${seconds} s after ${WARMUP_SECONDS} s warm-up`)
  out(row(["", "req/s", "p50 ms", "p99 ms", "errors", "CPU us/request"], httpWidths))
  out(httpRow("direct upstream", await runLoad(children, job(sim.baseUrl)), "-"))
  const floor = await measureProxy(children, job(`${bare.url}/v1`), bare.child, bareAllocFile, sim)
  out(httpRow("bare proxy", floor.result, fixed(floor.cpuUsPerRequest, 0)))
  const through = await measureProxy(children, job(`${balancer.url}/v1`), balancer.child, balancerAllocFile, sim)
  const rss = rssMiB(balancer.child.pid)
  out(httpRow("through balancer", through.result, fixed(through.cpuUsPerRequest, 0)))
  out(`  targets for the balancer: >= ${grouped(TARGET_RPS)} req/s: ${verdict(through.result.requestsPerSecond >= TARGET_RPS)}, ` +
    `<= ${TARGET_CPU_US} us CPU per request: ${verdict(through.cpuUsPerRequest <= TARGET_CPU_US)} ` +
    `(CLK_TCK ${clockTicksPerSecond()})`)
  out(`  V8 heap allocated per request: bare proxy ${grouped(floor.allocBytesPerRequest)} B (${floor.gcs} GCs), ` +
    `balancer ${grouped(through.allocBytesPerRequest)} B (${through.gcs} GCs)`)
  out(`  balancer RSS after its run: ${fixed(rss, 0)} MiB; the upstream answered ${grouped(through.upstreamAnswered)} requests ` +
    `during it (${grouped(through.result.requests)} completed)` +
    (through.upstreamAnswered < through.result.requests ? ": FEWER, some never reached it (a cache?)" : ""))
  const cpuRatio = through.cpuUsPerRequest / floor.cpuUsPerRequest
  const allocRatio = through.allocBytesPerRequest / floor.allocBytesPerRequest
  return [
    { name: `CPU per request at c=${CONNECTIONS}`, figure: `${fixed(cpuRatio, 2)}x bare`, limit: `<= ${MAX_CPU_RATIO}x`, met: cpuRatio <= MAX_CPU_RATIO },
    { name: "V8 heap allocation per request", figure: `${fixed(allocRatio, 2)}x bare`, limit: `<= ${MAX_ALLOC_RATIO}x`, met: allocRatio <= MAX_ALLOC_RATIO }
  ]
}

const benchStreaming = async (children: Children, { balancer, bare, sim }: Stack): Promise<ReadonlyArray<Target>> => {
  await configureSim(sim, { ttftMs: 20, interTokenMs: 5, outputTokens: 32 })
  out(`streaming, ${STREAM_ROUNDS} rounds of ${STREAMS} concurrent streams each after a warm-up round, direct, through the ` +
    `bare proxy and through the balancer in turns (upstream ttft 20 ms, itl 5 ms, 32 tokens)`)
  out(row(["", "TTFT p50 ms", "TTFT p99 ms", "failures"], streamWidths))
  const { byUrl } = await runLoad(children, {
    kind: "stream",
    urls: [sim.baseUrl, `${bare.url}/v1`, `${balancer.url}/v1`].map((base) => `${base}/chat/completions`),
    body: chatBody(true, 32),
    concurrency: STREAMS,
    warmupRounds: 1,
    rounds: STREAM_ROUNDS
  })
  const [direct, floor, through] = byUrl as [StreamStats, StreamStats, StreamStats]
  out(streamRow("direct upstream", direct))
  out(streamRow("bare proxy", floor))
  out(streamRow("through balancer", through))
  out(addedRow("added by bare proxy", floor, direct))
  const addedP50 = through.ttftP50Ms - direct.ttftP50Ms
  out(`${addedRow("added by balancer", through, direct)}   target p50 <= ${TARGET_ADDED_TTFT_MS} ms: ` +
    verdict(addedP50 <= TARGET_ADDED_TTFT_MS))
  // Added over direct minus the bare proxy's added over direct: the direct figures cancel out.
  const overP50 = through.ttftP50Ms - floor.ttftP50Ms
  const overP99 = through.ttftP99Ms - floor.ttftP99Ms
  return [
    { name: `added TTFT p50, ${STREAMS} streams`, figure: `${signed(overP50)} ms over bare`, limit: `<= ${MAX_TTFT_P50_OVER_BARE_MS} ms`, met: overP50 <= MAX_TTFT_P50_OVER_BARE_MS },
    { name: `added TTFT p99, ${STREAMS} streams`, figure: `${signed(overP99)} ms over bare`, limit: `<= ${MAX_TTFT_P99_OVER_BARE_MS} ms`, met: overP99 <= MAX_TTFT_P99_OVER_BARE_MS }
  ]
}

const benchSerial = async (children: Children, { balancer, bare, sim }: Stack): Promise<ReadonlyArray<Target>> => {
  await configureSim(sim, { ttftMs: 0, interTokenMs: 0, outputTokens: 16 })
  out(`concurrency 1: ${grouped(SERIAL_REQUESTS)} non-streaming requests one at a time per URL after 200 warm-up requests, ` +
    `direct, through the bare proxy and through the balancer in turns of 100`)
  out(row(["", "p50 ms", "p99 ms", "added p99 ms", "failures"], [22, 10, 10, 14, 0]))
  const { byUrl } = await runLoad(children, {
    kind: "serial",
    urls: [sim.baseUrl, `${bare.url}/v1`, `${balancer.url}/v1`].map((base) => `${base}/chat/completions`),
    body: chatBody(false, 16),
    warmupRequests: 200,
    requests: SERIAL_REQUESTS,
    batch: 100
  })
  const [direct, floor, through] = byUrl as [LatencyStats, LatencyStats, LatencyStats]
  out(serialRow("direct upstream", direct, direct))
  out(serialRow("bare proxy", floor, direct))
  out(serialRow("through balancer", through, direct))
  const over = through.p99Ms - floor.p99Ms
  return [
    { name: "added p99 at c=1", figure: `${signed(over)} ms over bare`, limit: `<= ${MAX_SERIAL_P99_OVER_BARE_MS} ms`, met: over <= MAX_SERIAL_P99_OVER_BARE_MS }
  ]
}

runInSession("bench-proxy", async ({ children, tempDir }) => {
  const seconds = Number(process.env["BENCH_SECONDS"] ?? "10")
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`BENCH_SECONDS must be a positive number of seconds`)
  if (!Number.isInteger(SERIAL_REQUESTS) || SERIAL_REQUESTS < 100) throw new Error(`SERIAL_REQUESTS must be an integer >= 100`)
  const stack = await startStack(children, tempDir)
  title("proxy benchmark")
  out(`at the start: ${loadLine()}`)
  const targets = [...await benchNonStreaming(children, stack, seconds)]
  out()
  targets.push(...await benchStreaming(children, stack))
  out()
  targets.push(...await benchSerial(children, stack))
  out()
  out(`the balancer against the bare proxy of this run (issue 15); at the end: ${loadLine()}`)
  for (const target of targets) out(targetLine(target))
  out(`${targets.filter((t) => t.met).length} of ${targets.length} targets PASS`)
})
