/**
 * `corepack pnpm bench:cluster`: what routing mode `load` gains on a simulated cluster (issue 13). It prints a
 * table, writes it as JSON (BENCH_CLUSTER_OUT, default data/bench-cluster.json, git-ignored) and asserts nothing.
 *
 * Method. Every part runs in its own process on 127.0.0.1: four upstream-sim engines in their engine model
 * (one prefill at a time over the tokens their prefix cache lacks, an LRU of NUM_GPU_BLOCKS 16-token blocks;
 * max-num-seqs 16; decode steps of ITL_MS plus DECODE_MS_PER_SEQ per running request), three at PREFILL_TPS
 * and one at half of it; the built balancer in front; the load engine of packages/loadgen as the client,
 * Poisson arrivals (burstiness 1), streamed chat completions, max_tokens OUTPUT_TOKENS.
 * Workloads: (a) TENANTS tenants, each with a SYSTEM_TOKENS-token system prompt, and a short question of
 * QUESTION_TOKENS words; (b) unique prompts of UNIQUE_MIN..UNIQUE_MAX tokens. Both at LOAD (80 %) of the
 * cluster's prefill capacity without any cache hit: sum of prefill rates / mean prompt tokens.
 * Modes: round-robin (percentage with equal quotas), percentage (quotas by engine speed), priority with
 * overflow (fast engines first, max_concurrent 8 each, LB_PRIORITY_OVERFLOW_ON_SATURATION=true) and load.
 * Before each run the engines are reset (counters and prefix caches emptied) and the balancer restarted (its
 * prefix sets and learned rates start over), then WARMUP_SECONDS of load precede RUN_SECONDS measured.
 * Per run: TTFT p50/p90/p99 and E2E p50 at the client, output tokens/s, the engines' prefix cache hit rate
 * (hits / queried tokens, from their /sim/stats), requests per engine.
 * BENCH_CLUSTER_SECONDS overrides RUN_SECONDS (a shorter run for a loaded machine); BENCH_CLUSTER_WORKLOADS
 * (a, b or a,b) and BENCH_CLUSTER_MODES (comma-separated) run a part only, without the goal lines.
 */
import { type Report, runLoad } from "../packages/loadgen/src/index.js"
import { Effect } from "effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fixed, grouped, out, row, title } from "./lib/report.js"
import { runInSession } from "./lib/session.js"
import type { SimCounters } from "../packages/upstream-sim/src/Sim.js"
import { type Children, waitForLine } from "./lib/children.js"
import { type BenchBalancer, repoRoot, resetSim, type SimProcess, simStats, startBenchBalancer, tsNodeArgs } from "./lib/stack.js"

const MODEL = "cluster-model"
const PREFILL_TPS = 20_000
const NUM_GPU_BLOCKS = 4_000
const MAX_NUM_SEQS = 16
const ITL_MS = 8
const DECODE_MS_PER_SEQ = 1
const OUTPUT_TOKENS = 24
const LOAD = 0.8

const TENANTS = 40
const SYSTEM_TOKENS = 4_000
const QUESTION_TOKENS = 16
const UNIQUE_MIN = 500
const UNIQUE_MAX = 3_500

const RUN_SECONDS = Number(process.env["BENCH_CLUSTER_SECONDS"] ?? "25")
const WARMUP_SECONDS = 5

const ENGINES = [
  { name: "engine-1", prefill: PREFILL_TPS, quota: 2, priority: 0 },
  { name: "engine-2", prefill: PREFILL_TPS, quota: 2, priority: 1 },
  { name: "engine-3", prefill: PREFILL_TPS, quota: 2, priority: 2 },
  { name: "engine-slow", prefill: PREFILL_TPS / 2, quota: 1, priority: 3 }
] as const
const CAPACITY_TPS = ENGINES.reduce((sum, e) => sum + e.prefill, 0)

type Mode = "round-robin" | "percentage" | "priority-overflow" | "load"
const MODES: ReadonlyArray<Mode> = ["round-robin", "percentage", "priority-overflow", "load"]

interface Workload {
  readonly name: "a" | "b"
  readonly label: string
  readonly prompt: string
  readonly meanPromptTokens: number
  readonly inputSpread?: number
}

const WORKLOADS: ReadonlyArray<Workload> = [
  {
    name: "a",
    label: `${TENANTS} tenants, ${SYSTEM_TOKENS}-token shared system prompts`,
    prompt: `{shared:${TENANTS}:${SYSTEM_TOKENS}} {random_words:${QUESTION_TOKENS}}`,
    meanPromptTokens: SYSTEM_TOKENS + QUESTION_TOKENS
  },
  {
    name: "b",
    label: `unique prompts of ${UNIQUE_MIN}-${UNIQUE_MAX} tokens`,
    prompt: "",
    meanPromptTokens: (UNIQUE_MIN + UNIQUE_MAX) / 2,
    inputSpread: (UNIQUE_MAX - UNIQUE_MIN) / 2
  }
]

interface Result {
  readonly workload: "a" | "b"
  readonly mode: Mode
  readonly rate: number
  readonly requests: number
  readonly errors: number
  readonly ttft_p50_ms: number
  readonly ttft_p90_ms: number
  readonly ttft_p99_ms: number
  readonly e2el_p50_ms: number
  readonly output_tokens_per_second: number
  readonly prefix_cache_hit_rate: number
  readonly requests_per_engine: Record<string, number>
}

/** One after the other: on a loaded machine four compiling at once may miss their start-up deadline. */
const startEngines = async (children: Children) => {
  const engines = []
  for (const e of ENGINES) engines.push({ ...e, sim: await startEngine(children, e) })
  return engines
}

/** Like stack.ts's startSimProcess, with a start-up deadline that holds on a loaded machine. */
const startEngine = async (children: Children, e: typeof ENGINES[number]): Promise<SimProcess> => {
  const child = children.spawn(e.name, process.execPath, tsNodeArgs("packages/upstream-sim/src/cli.ts", [
    ...["--host", "127.0.0.1", "--port", "0", "--model", MODEL, "--prefill-tps", String(e.prefill)],
    ...["--num-gpu-blocks", String(NUM_GPU_BLOCKS), "--max-num-seqs", String(MAX_NUM_SEQS), "--itl-ms", String(ITL_MS)],
    ...["--decode-ms-per-seq", String(DECODE_MS_PER_SEQ), "--output-tokens", String(OUTPUT_TOKENS)]
  ]), { cwd: repoRoot })
  const match = await waitForLine(child, /listening on (http:\/\/\S+) \(OpenAI base URL (\S+);/, 120_000)
  return { child, url: match[1]!, baseUrl: match[2]! }
}

type Engine = Awaited<ReturnType<typeof startEngines>>[number]

/** A fresh balancer for one run, its endpoints set up for the mode. */
const balancerFor = async (children: Children, tempDir: string, engines: ReadonlyArray<Engine>, mode: Mode, run: number) => {
  const balancer: BenchBalancer = await startBenchBalancer(children, `${tempDir}`, {
    LB_DB_PATH: `${tempDir}/run-${run}.db`,
    LB_PRIORITY_OVERFLOW_ON_SATURATION: "true",
    LB_PREFILL_TOKENS_PER_SECOND: String(PREFILL_TPS),
    LB_QUEUE_TIMEOUT_SECONDS: "120"
  })
  const quotaSum = engines.reduce((sum, e) => sum + e.quota, 0)
  for (const e of engines) {
    await balancer.admin.addEndpoint({
      name: e.name,
      base_url: e.sim.baseUrl,
      token_quota_percent: mode === "round-robin" ? 25 : (100 * e.quota) / quotaSum,
      priority_order: e.priority,
      max_concurrent: mode === "priority-overflow" ? 8 : 0
    })
  }
  await balancer.admin.setRoutingMode(mode === "round-robin" ? "percentage" : mode === "priority-overflow" ? "priority" : mode)
  return balancer
}

const runOnce = async (
  children: Children,
  tempDir: string,
  engines: ReadonlyArray<Engine>,
  workload: Workload,
  mode: Mode,
  run: number
): Promise<Result> => {
  await Promise.all(engines.map((e) => resetSim(e.sim)))
  const balancer = await balancerFor(children, tempDir, engines, mode, run)
  try {
    const rate = (LOAD * CAPACITY_TPS) / workload.meanPromptTokens
    // The engines' figures cover the measured part: their counters when the warm-up ends are subtracted.
    let baseline: ReadonlyArray<SimCounters> | undefined
    const warmTimer = setTimeout(() => {
      void Promise.all(engines.map((e) => simStats(e.sim))).then((s) => (baseline = s))
    }, WARMUP_SECONDS * 1000)
    const result = await Effect.runPromise(runLoad({
      base_url: `${balancer.url}/v1`,
      model: MODEL,
      route: "chat",
      stream: true,
      ...(workload.prompt === ""
        ? { input_tokens: workload.meanPromptTokens, input_spread: workload.inputSpread ?? 0 }
        : { prompt: workload.prompt, input_spread: 0 }),
      max_tokens: OUTPUT_TOKENS,
      continuous_usage: false,
      rate,
      burstiness: 1,
      duration: RUN_SECONDS + WARMUP_SECONDS,
      warmup: { seconds: WARMUP_SECONDS },
      timeout: 120,
      seed: workload.name === "a" ? 1 : 2, // the same arrivals and prompts for every mode
      workers: 1
    })).finally(() => clearTimeout(warmTimer))
    const report: Report = result.report
    const stats = (await Promise.all(engines.map((e) => simStats(e.sim)))).map((s, i) => ({
      queries: s.prefixCacheQueries - (baseline?.[i]?.prefixCacheQueries ?? 0),
      hits: s.prefixCacheHits - (baseline?.[i]?.prefixCacheHits ?? 0),
      completed: s.completed - (baseline?.[i]?.completed ?? 0)
    }))
    const queries = stats.reduce((s, x) => s + x.queries, 0)
    const hits = stats.reduce((s, x) => s + x.hits, 0)
    return {
      workload: workload.name,
      mode,
      rate,
      requests: report.completed,
      errors: report.failed,
      ttft_p50_ms: report.p50_ttft_ms,
      ttft_p90_ms: report.p90_ttft_ms,
      ttft_p99_ms: report.p99_ttft_ms,
      e2el_p50_ms: report.p50_e2el_ms,
      output_tokens_per_second: report.output_throughput,
      prefix_cache_hit_rate: queries === 0 ? 0 : hits / queries,
      requests_per_engine: Object.fromEntries(engines.map((e, i) => [e.name, stats[i]!.completed]))
    }
  } finally {
    balancer.child.process.kill("SIGTERM")
    await balancer.child.exited
  }
}

const WIDTHS = [3, 19, 10, 8, 8, 9, 11, 10, 0]

runInSession("bench-cluster", async ({ children, tempDir }) => {
  if (!(RUN_SECONDS > 0)) throw new Error("BENCH_CLUSTER_SECONDS must be a number of seconds greater than 0")
  const engines = await startEngines(children)
  title("cluster benchmark: routing modes on four simulated vLLM engines (one half as fast)")
  out(`prefill ${grouped(PREFILL_TPS)} tokens/s (slow engine half), prefix cache ${grouped(NUM_GPU_BLOCKS)} blocks of 16 tokens,`)
  out(`max-num-seqs ${MAX_NUM_SEQS}, decode step ${ITL_MS} ms + ${DECODE_MS_PER_SEQ} ms per running request, ${OUTPUT_TOKENS} output tokens;`)
  out(`Poisson arrivals at ${LOAD * 100} % of the no-cache prefill capacity, ${WARMUP_SECONDS} s warm-up + ${RUN_SECONDS} s measured per run.`)
  const results: Array<Result> = []
  let run = 0
  const only = (name: string) => process.env[name]?.split(",").map((s) => s.trim())
  const workloads = WORKLOADS.filter((w) => only("BENCH_CLUSTER_WORKLOADS")?.includes(w.name) ?? true)
  const modes = MODES.filter((m) => only("BENCH_CLUSTER_MODES")?.includes(m) ?? true)
  for (const workload of workloads) {
    out()
    out(`workload ${workload.name}: ${workload.label}, ${fixed((LOAD * CAPACITY_TPS) / workload.meanPromptTokens, 1)} requests/s`)
    out(row(["", "mode", "TTFT p50", "p90", "p99", "E2E p50", "out tok/s", "hit rate", "requests per engine"], WIDTHS))
    for (const mode of modes) {
      const r = await runOnce(children, tempDir, engines, workload, mode, ++run)
      results.push(r)
      out(row([
        workload.name,
        mode,
        fixed(r.ttft_p50_ms, 0),
        fixed(r.ttft_p90_ms, 0),
        fixed(r.ttft_p99_ms, 0),
        fixed(r.e2el_p50_ms, 0),
        fixed(r.output_tokens_per_second, 0),
        `${fixed(r.prefix_cache_hit_rate * 100, 1)} %`,
        engines.map((e) => r.requests_per_engine[e.name] ?? 0).join(" / ")
      ], WIDTHS))
    }
  }
  out()
  if (results.length === WORKLOADS.length * MODES.length) goals(results)
  // data/ is git-ignored: a run's figures are not a source file.
  const file = resolve(process.env["BENCH_CLUSTER_OUT"] ?? join(repoRoot, "data", "bench-cluster.json"))
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify({
    engines: ENGINES.map(({ name, prefill }) => ({ name, prefill_tokens_per_second: prefill })),
    settings: {
      num_gpu_blocks: NUM_GPU_BLOCKS,
      max_num_seqs: MAX_NUM_SEQS,
      itl_ms: ITL_MS,
      decode_ms_per_seq: DECODE_MS_PER_SEQ,
      output_tokens: OUTPUT_TOKENS,
      load: LOAD,
      run_seconds: RUN_SECONDS,
      warmup_seconds: WARMUP_SECONDS
    },
    results
  }, null, 2) + "\n")
  out(`written to ${file}`)
})

/** The goals, from the full table. */
function goals(results: ReadonlyArray<Result>) {
  const figure = (w: "a" | "b", m: Mode) => results.find((r) => r.workload === w && r.mode === m)!
  const a = figure("a", "load")
  const rr = figure("a", "round-robin")
  out(`goal a: load's TTFT p90 ${fixed(a.ttft_p90_ms, 0)} ms vs round-robin's ${fixed(rr.ttft_p90_ms, 0)} ms (` +
    `${fixed(rr.ttft_p90_ms / a.ttft_p90_ms, 2)}x, goal >= 2x); hit rate ${fixed(a.prefix_cache_hit_rate * 100, 1)} % (goal > 80 %)`)
  const b = figure("b", "load")
  const bestOther = Math.min(...MODES.filter((m) => m !== "load").map((m) => figure("b", m).ttft_p90_ms))
  out(`goal b: load's TTFT p90 ${fixed(b.ttft_p90_ms, 0)} ms vs the best other mode's ${fixed(bestOther, 0)} ms (goal: within 5 %)`)
}
