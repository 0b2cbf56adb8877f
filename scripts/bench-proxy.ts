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
 * 2. Streaming: the simulator set to ttft 20 ms, itl 5 ms, 32 tokens; after a warm-up round, 10 rounds of 50
 *    concurrent streams, each timing its first chunk with content (fetch + a stream reader), straight to the
 *    upstream, through the bare proxy and through the balancer in turns (a round each), so that noise from the
 *    machine hits all three alike. The added TTFT is the difference of the percentiles to the direct ones.
 * Targets (DESIGN.md, "Data plane and control plane"): >= 5,000 req/s, <= 150 us CPU per request through the
 * balancer, added TTFT p50 <= 2 ms. On a 2-core machine the load generator, the balancer and the upstream share
 * the cores, so the figures are noisy: compare runs on one machine.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { type BareProxyProcess, startBareProxy } from "./lib/bare-proxy.js"
import type { Child, Children } from "./lib/children.js"
import type { HttpJob, HttpResult, StreamStats } from "./lib/load.js"
import { fixed, grouped, out, row, signed, title, verdict } from "./lib/report.js"
import { runLoad } from "./lib/run-load.js"
import { runInSession } from "./lib/session.js"
import {
  type BenchBalancer,
  configureSim,
  postJson,
  type SimProcess,
  simStats,
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

const chatBody = (stream: boolean, maxTokens: number): string =>
  JSON.stringify({
    model: MODEL,
    messages: [{ role: "user", content: "Write one short sentence about load balancers." }],
    max_tokens: maxTokens,
    stream
  })

// --- /proc readings of a proxy process ---------------------------------------------------------------------

const clockTicksPerSecond = (): number => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
    return Number.isInteger(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
}

/** utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/<pid>/stat; the name in field 2 may hold spaces). */
const cpuTicks = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ") // fields[0] is field 3 (state)
  return Number(fields[11]) + Number(fields[12])
}

const rssMiB = (pid: number): number => {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
  return Number(kb) / 1024
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

// --- the run -------------------------------------------------------------------------------------------------

interface Stack {
  readonly sim: SimProcess
  readonly bare: BareProxyProcess
  readonly balancer: BenchBalancer
}

/**
 * The simulator (zero delays), the bare proxy in front of it and the balancer with it as the one connected
 * endpoint, both checked with one request.
 */
const startStack = async (children: Children, tempDir: string): Promise<Stack> => {
  const sim = await startSimProcess(children, "upstream-sim", ["--model", MODEL, "--output-tokens", "16"])
  const bare = await startBareProxy(children, sim.url)
  const balancer = await startBenchBalancer(children, tempDir)
  await balancer.admin.addEndpoint({ name: "upstream-sim", base_url: sim.baseUrl })
  for (const url of [bare.url, balancer.url]) await postJson(`${url}/v1/chat/completions`, chatBody(false, 16))
  return { sim, bare, balancer }
}

interface ProxyRun {
  readonly result: HttpResult
  readonly cpuUsPerRequest: number
  /** Requests the upstream answered during the measured run. */
  readonly upstreamAnswered: number
}

/** An HTTP job through the proxy `proxy`, its CPU time and the upstream's answers counted over the measured part. */
const measureProxy = async (children: Children, job: HttpJob, proxy: Child, sim: SimProcess): Promise<ProxyRun> => {
  let ticksBefore = 0
  let upstreamBefore = 0
  const result = await runLoad(children, job, async () => {
    upstreamBefore = (await simStats(sim)).completed
    ticksBefore = cpuTicks(proxy.pid)
  })
  const ticks = cpuTicks(proxy.pid) - ticksBefore
  return {
    result,
    cpuUsPerRequest: (ticks * 1e6) / clockTicksPerSecond() / result.requests,
    upstreamAnswered: (await simStats(sim)).completed - upstreamBefore
  }
}

const benchNonStreaming = async (children: Children, { balancer, bare, sim }: Stack, seconds: number): Promise<void> => {
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
  const floor = await measureProxy(children, job(`${bare.url}/v1`), bare.child, sim)
  out(httpRow("bare proxy", floor.result, fixed(floor.cpuUsPerRequest, 0)))
  const through = await measureProxy(children, job(`${balancer.url}/v1`), balancer.child, sim)
  const rss = rssMiB(balancer.child.pid)
  out(httpRow("through balancer", through.result, fixed(through.cpuUsPerRequest, 0)))
  out(`  targets for the balancer: >= ${grouped(TARGET_RPS)} req/s: ${verdict(through.result.requestsPerSecond >= TARGET_RPS)}, ` +
    `<= ${TARGET_CPU_US} us CPU per request: ${verdict(through.cpuUsPerRequest <= TARGET_CPU_US)} ` +
    `(CLK_TCK ${clockTicksPerSecond()})`)
  out(`  balancer RSS after its run: ${fixed(rss, 0)} MiB; the upstream answered ${grouped(through.upstreamAnswered)} requests ` +
    `during it (${grouped(through.result.requests)} completed)` +
    (through.upstreamAnswered < through.result.requests ? ": FEWER, some never reached it (a cache?)" : ""))
}

const benchStreaming = async (children: Children, { balancer, bare, sim }: Stack): Promise<void> => {
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
}

runInSession("bench-proxy", async ({ children, tempDir }) => {
  const seconds = Number(process.env["BENCH_SECONDS"] ?? "10")
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`BENCH_SECONDS must be a positive number of seconds`)
  const stack = await startStack(children, tempDir)
  title("proxy benchmark")
  await benchNonStreaming(children, stack, seconds)
  out()
  await benchStreaming(children, stack)
})
