/**
 * `corepack pnpm bench:replicas` (issue 14 item 8): two balancer processes (dist/main.js) on one PostgreSQL
 * started here (test/support/Engines.ts: Debian's binaries, a temp folder, a free port). It prints figures and
 * asserts nothing.
 * 1. Change propagation: the time for a change made through replica A to be in force on replica B (p50/p99 over
 *    100 changes of the routing mode, A's own write included, B polled every 2 ms).
 * 2. Throughput: a round-robin TCP splitter on loopback (scripts/lib/tcp-splitter.ts, in this process) in front
 *    of one replica, then of both (one per core), and autocannon (scripts/lib/load.ts, its own process) through
 *    it: 64 connections, non-streaming chat, BENCH_SECONDS (default 10) after a 1 s warm-up, against one
 *    simulated upstream with zero delays. Requests per second, p50/p99, and the replicas' CPU per request
 *    (utime + stime of each replica process from /proc over the measured run, summed, divided by the requests).
 * Every process shares the machine's cores (load generator, upstream, splitter, PostgreSQL, replicas), so two
 * replicas cannot double the figure of one on a 2-core machine: the load average is printed at the start and
 * the end.
 */
import { loadavg } from "node:os"
import { startPostgres } from "../apps/balancer/test/support/Engines.js"
import type { Children } from "./lib/children.js"
import type { HttpResult } from "./lib/load.js"
import { clockTicksPerSecond, cpuTicks } from "./lib/proc.js"
import { fixed, grouped, out, row, title } from "./lib/report.js"
import { runLoad } from "./lib/run-load.js"
import { runInSession } from "./lib/session.js"
import { type BenchBalancer, postJson, sleep, startBenchBalancer, startSimProcess } from "./lib/stack.js"
import { startSplitter, type Splitter } from "./lib/tcp-splitter.js"

const MODEL = "bench-model"
const CHANGES = 100
const CHANGE_LIMIT_MS = 10_000
const CONNECTIONS = 64
const WARMUP_SECONDS = 1
const BODY = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Write one short sentence about load balancers." }], max_tokens: 16 })

const loadLine = (): string => `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!

const startReplica = (children: Children, tempDir: string, databaseUrl: string, id: string) =>
  startBenchBalancer(children, tempDir, {
    LB_DATABASE_URL: databaseUrl,
    LB_REPLICA_ID: id,
    LB_ADMIN_RATE_LIMIT_RPM: "1000000",
    // What is measured is the notification's path, not the periodic reload.
    LB_CONFIG_RELOAD_SECONDS: "600"
  })

/** How long each of CHANGES routing-mode changes through `a` took to show in `b`'s state, sorted. */
const propagation = async (a: BenchBalancer, b: BenchBalancer): Promise<ReadonlyArray<number>> => {
  const times: Array<number> = []
  const modes = ["priority", "percentage"] as const
  for (let i = 0; i < CHANGES; i++) {
    const mode = modes[i % 2]!
    const start = performance.now()
    await a.admin.setRoutingMode(mode)
    while ((await b.admin.state()).routing_mode !== mode) {
      if (performance.now() - start > CHANGE_LIMIT_MS) throw new Error(`change not seen within ${CHANGE_LIMIT_MS} ms`)
      await sleep(2)
    }
    times.push(performance.now() - start)
  }
  return times.sort((x, y) => x - y)
}

interface Run {
  readonly result: HttpResult
  readonly cpuUsPerRequest: number
}

/** Load through the splitter, sent to `replicas`; their CPU summed over the measured part. */
const throughput = async (children: Children, splitter: Splitter, replicas: ReadonlyArray<BenchBalancer>, seconds: number): Promise<Run> => {
  splitter.setTargets(replicas.map((r) => Number(new URL(r.url).port)))
  const ticks = () => replicas.reduce((sum, r) => sum + cpuTicks(r.child.pid), 0)
  let before = 0
  const result = await runLoad(
    children,
    { kind: "http", url: `http://127.0.0.1:${splitter.port}/v1/chat/completions`, body: BODY, connections: CONNECTIONS, warmupSeconds: WARMUP_SECONDS, seconds },
    async () => void (before = ticks())
  )
  const cpuSeconds = (ticks() - before) / clockTicksPerSecond()
  return { result, cpuUsPerRequest: (cpuSeconds * 1e6) / result.requests }
}

runInSession("bench-replicas", async ({ children, tempDir }) => {
  const seconds = Number(process.env["BENCH_SECONDS"] ?? "10")
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 120) throw new Error("BENCH_SECONDS must be a number of seconds from 1 to 120")
  const postgres = await startPostgres()
  // pg_ctl runs it detached: stopped however this process ends (session.stop exits, a signal leads there too).
  process.once("exit", () => postgres.stop())
  title("replicas benchmark")
  out(`at the start: ${loadLine()}`)
  const databaseUrl = postgres.createDatabase()
  const sim = await startSimProcess(children, "upstream-sim", ["--model", MODEL, "--output-tokens", "16"])
  const a = await startReplica(children, tempDir, databaseUrl, "a")
  const b = await startReplica(children, tempDir, databaseUrl, "b")
  await a.admin.addEndpoint({ name: "upstream-sim", base_url: sim.baseUrl })
  for (let waited = 0; (await b.admin.state()).endpoints.length === 0; waited += 10) {
    if (waited > CHANGE_LIMIT_MS) throw new Error("replica b never saw the endpoint")
    await sleep(10)
  }
  for (const replica of [a, b]) await postJson(`${replica.url}/v1/chat/completions`, BODY)

  const times = await propagation(a, b)
  out(`change through A in force on B (${CHANGES} changes, A's write included): p50 ${fixed(percentile(times, 0.5), 1)} ms, ` +
    `p99 ${fixed(percentile(times, 0.99), 1)} ms, max ${fixed(times.at(-1)!, 1)} ms`)
  out()

  const splitter = await startSplitter([])
  try {
    const one = await throughput(children, splitter, [a], seconds)
    const two = await throughput(children, splitter, [a, b], seconds)
    const widths = [26, 10, 10, 10, 8, 0]
    out(`non-streaming, ${CONNECTIONS} connections through a round-robin TCP splitter, ${seconds} s each (CLK_TCK ${clockTicksPerSecond()})`)
    out(row(["", "req/s", "p50 ms", "p99 ms", "errors", "replicas' CPU per request"], widths))
    for (const [label, run] of [["one replica", one], ["two replicas", two]] as const) {
      const r = run.result
      out(row([label, grouped(r.requestsPerSecond), `${r.latencyP50Ms}`, `${r.latencyP99Ms}`, `${r.non2xx + r.errors}`, `${fixed(run.cpuUsPerRequest, 0)} us`], widths))
    }
    out(`two against one: ${fixed(two.result.requestsPerSecond / one.result.requestsPerSecond, 2)}x the req/s, ` +
      `${fixed(two.cpuUsPerRequest / one.cpuUsPerRequest, 2)}x the CPU per request`)
  } finally {
    await splitter.close()
  }
  out(`at the end: ${loadLine()}`)
})
