/**
 * `corepack pnpm bench:proxy`: what the balancer's data plane costs. It prints figures and asserts nothing.
 *
 * Method. Every part runs in its own process on 127.0.0.1: a simulated upstream (the upstream-sim CLI with zero
 * delays), the built balancer (`apps/balancer/dist/main.js`, LB_LOG_LEVEL=ERROR, a throw-away SQLite database,
 * the simulator registered as its one connected endpoint) and the load generator (`scripts/lib/load.ts`), so
 * this process only orchestrates and stays idle while the others work.
 * 1. Non-streaming: autocannon, 64 connections, BENCH_SECONDS (default 10) after a 1 s warm-up, POST
 *    /v1/chat/completions with a small body and max_tokens 16; first straight to the upstream, then through the
 *    balancer. Requests per second, p50 and p99 latency for both. The balancer's CPU time over the measured run
 *    (utime + stime from /proc/<pid>/stat, in clock ticks of `getconf CLK_TCK`) divided by the requests
 *    completed gives its CPU per request; its RSS is read after the run.
 * 2. Streaming: the simulator set to ttft 20 ms, itl 5 ms, 32 tokens; after a warm-up round, 10 rounds of 50
 *    concurrent streams, each timing its first chunk with content (fetch + a stream reader), straight to the
 *    upstream and through the balancer in turns (a round each), so that noise from the machine hits both
 *    alike. The added TTFT is the difference of the percentiles.
 * Targets (DESIGN.md, "Data plane and control plane"): >= 5,000 req/s, <= 150 us CPU per request through the
 * balancer, added TTFT p50 <= 2 ms. On a 2-core machine the load generator, the balancer and the upstream share
 * the cores, so the figures are noisy: compare runs on one machine.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { type Child, type Children, waitForLine } from "./lib/children.js"
import type { HttpJob, HttpResult, LoadJob, StreamJob, StreamResult, StreamStats } from "./lib/load.js"
import { startSession } from "./lib/session.js"
import {
  addEndpoint,
  type BalancerProcess,
  freePort,
  postJson,
  type SimProcess,
  startBalancer,
  startSimProcess,
  tsNodeArgs
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

// --- /proc readings of the balancer process ---------------------------------------------------------------

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

/** Generation requests the simulator has answered in full (`GET /sim/stats`). */
const upstreamCompleted = async (simUrl: string): Promise<number> => {
  const res = await fetch(`${simUrl}/sim/stats`, { signal: AbortSignal.timeout(10_000) })
  return ((await res.json()) as { readonly completed: number }).completed
}

// --- the load generator process ----------------------------------------------------------------------------

/** Runs one job in a load generator process; `onWarm` runs after its warm-up, right before the measured part. */
async function runLoad(children: Children, job: HttpJob, onWarm?: () => Promise<void>): Promise<HttpResult>
async function runLoad(children: Children, job: StreamJob): Promise<StreamResult>
async function runLoad(children: Children, job: LoadJob, onWarm?: () => Promise<void>): Promise<HttpResult | StreamResult> {
  const worker: Child = children.spawn("load generator", process.execPath, tsNodeArgs("scripts/lib/load.ts", [JSON.stringify(job)]))
  const limitMs = job.kind === "http" ? (job.warmupSeconds + job.seconds) * 1_000 + 60_000 : 180_000
  await waitForLine(worker, /^\{"event":"warm"/, limitMs)
  await onWarm?.()
  const result = waitForLine(worker, /^\{"event":"result".*/, limitMs)
  worker.process.stdin!.write("go\n")
  return JSON.parse((await result)[0]) as HttpResult | StreamResult
}

// --- output --------------------------------------------------------------------------------------------------

const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")
const grouped = (n: number): string => Math.round(n).toLocaleString("en-US")
const verdict = (met: boolean): string => (met ? "met" : "MISSED")
const row = (cells: ReadonlyArray<string>, widths: ReadonlyArray<number>): string =>
  "  " + cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("")

const httpWidths = [20, 10, 10, 10, 0]
/** autocannon records latencies in whole milliseconds (truncated): 0 means under 1 ms. */
const wholeMs = (ms: number): string => (ms === 0 ? "<1" : `${ms}`)
const httpRow = (label: string, r: HttpResult): string =>
  row(
    [label, grouped(r.requestsPerSecond), wholeMs(r.latencyP50Ms), wholeMs(r.latencyP99Ms), `${r.non2xx + r.errors}`],
    httpWidths
  )
const streamWidths = [20, 14, 14, 0]
const streamRow = (label: string, r: StreamStats): string =>
  row([label, fixed(r.ttftP50Ms, 2), fixed(r.ttftP99Ms, 2), `${r.failures}`], streamWidths)

// --- the run -------------------------------------------------------------------------------------------------

const out = (line = ""): void => void process.stdout.write(`${line}\n`)
const signed = (n: number): string => `${n >= 0 ? "+" : ""}${fixed(n, 2)}`

interface Stack {
  readonly sim: SimProcess
  readonly balancer: BalancerProcess
}

/** The simulator (zero delays) and the balancer with it as the one connected endpoint, checked with one request. */
const startStack = async (children: Children, tempDir: string): Promise<Stack> => {
  const sim = await startSimProcess(children, "upstream-sim", ["--model", MODEL, "--output-tokens", "16"])
  const adminToken = randomBytes(16).toString("hex")
  const balancer = await startBalancer(children, {
    port: await freePort(),
    host: "127.0.0.1",
    env: {
      PATH: process.env["PATH"],
      LB_DB_PATH: join(tempDir, "bench.db"),
      LB_ADMIN_TOKEN: adminToken,
      LB_LOG_LEVEL: "ERROR",
      LB_CACHE_MODE: "off"
    }
  })
  await addEndpoint(balancer.url, adminToken, { name: "upstream-sim", base_url: sim.baseUrl })
  await postJson(`${balancer.url}/v1/chat/completions`, chatBody(false, 16))
  return { sim, balancer }
}

const benchNonStreaming = async (children: Children, { balancer, sim }: Stack, seconds: number): Promise<void> => {
  const ticksPerSecond = clockTicksPerSecond()
  const job = (url: string): HttpJob => ({
    kind: "http",
    url,
    body: chatBody(false, 16),
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_SECONDS,
    seconds
  })
  out(`non-streaming POST /v1/chat/completions, max_tokens 16, ${CONNECTIONS} connections, ${seconds} s after ${WARMUP_SECONDS} s warm-up`)
  out(row(["", "req/s", "p50 ms", "p99 ms", "errors"], httpWidths))
  out(httpRow("direct upstream", await runLoad(children, job(`${sim.baseUrl}/chat/completions`))))

  const pid = balancer.child.pid
  let ticksBefore = 0
  let upstreamBefore = 0
  const through = await runLoad(children, job(`${balancer.url}/v1/chat/completions`), async () => {
    upstreamBefore = await upstreamCompleted(sim.url)
    ticksBefore = cpuTicks(pid)
  })
  const cpuUsPerRequest = ((cpuTicks(pid) - ticksBefore) * 1e6) / ticksPerSecond / through.requests
  const rss = rssMiB(pid)
  const upstreamAnswered = (await upstreamCompleted(sim.url)) - upstreamBefore
  out(`${httpRow("through balancer", through)}   target >= ${grouped(TARGET_RPS)} req/s: ${verdict(through.requestsPerSecond >= TARGET_RPS)}`)
  out(`  balancer CPU per request: ${fixed(cpuUsPerRequest, 0)} us (target <= ${TARGET_CPU_US} us: ${verdict(cpuUsPerRequest <= TARGET_CPU_US)}), ` +
    `over ${grouped(through.requests)} requests, CLK_TCK ${ticksPerSecond}`)
  out(`  balancer RSS after the run: ${fixed(rss, 0)} MiB; the upstream answered ${grouped(upstreamAnswered)} requests in that run` +
    (upstreamAnswered < through.requests ? " (FEWER than completed: some never reached it, a cache?)" : ""))
}

const benchStreaming = async (children: Children, { balancer, sim }: Stack): Promise<void> => {
  await postJson(`${sim.url}/sim/config`, { ttftMs: 20, interTokenMs: 5, outputTokens: 32 })
  out(`streaming, ${STREAM_ROUNDS} rounds of ${STREAMS} concurrent streams each after a warm-up round, direct and through ` +
    `the balancer in turns (upstream ttft 20 ms, itl 5 ms, 32 tokens)`)
  out(row(["", "TTFT p50 ms", "TTFT p99 ms", "failures"], streamWidths))
  const { byUrl } = await runLoad(children, {
    kind: "stream",
    urls: [`${sim.baseUrl}/chat/completions`, `${balancer.url}/v1/chat/completions`],
    body: chatBody(true, 32),
    concurrency: STREAMS,
    warmupRounds: 1,
    rounds: STREAM_ROUNDS
  })
  const [direct, through] = byUrl as [StreamStats, StreamStats]
  out(streamRow("direct upstream", direct))
  out(streamRow("through balancer", through))
  const addedP50 = through.ttftP50Ms - direct.ttftP50Ms
  const addedP99 = through.ttftP99Ms - direct.ttftP99Ms
  out(`${row(["added by balancer", signed(addedP50), signed(addedP99)], streamWidths)}` +
    `   target p50 <= ${TARGET_ADDED_TTFT_MS} ms: ${verdict(addedP50 <= TARGET_ADDED_TTFT_MS)}`)
}

const main = async (children: Children, tempDir: string): Promise<void> => {
  const seconds = Number(process.env["BENCH_SECONDS"] ?? "10")
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`BENCH_SECONDS must be a positive number of seconds`)
  const stack = await startStack(children, tempDir)
  out(`proxy benchmark: node ${process.version}, ${availableParallelism()} cores, all processes on 127.0.0.1`)
  out()
  await benchNonStreaming(children, stack, seconds)
  out()
  await benchStreaming(children, stack)
}

const session = startSession("bench", () => 130)
main(session.children, session.tempDir).then(
  () => session.stop(0),
  (e: unknown) => {
    // after a signal the children are being stopped: the failure that follows is expected
    if (!session.stopping()) process.stderr.write(`bench-proxy: ${e instanceof Error ? e.message : String(e)}\n`)
    return session.stop(1)
  }
)
