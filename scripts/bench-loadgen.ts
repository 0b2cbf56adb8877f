/**
 * `corepack pnpm bench:loadgen`: the load producer's own ceiling, the most it drives before its figures become
 * its own fault. It prints figures and asserts nothing.
 *
 * Method. The `loadtest` CLI as shipped (`packages/loadgen/dist/cli.js`, built first) runs once per step, each
 * in its own process, against a fast simulated upstream (the upstream-sim CLI, another process) on 127.0.0.1;
 * each step's JSON report gives the figures. For 1 and 2 worker threads:
 * 1. Rate: constant-rate Poisson steps (1 s warm-up, then 3 s) of 100, 200, 400, ... req/s at an upstream
 *    answering at once (4 tokens, no delays), doubling while the sends keep to the schedule within 2 % with
 *    no failure (then two bisection steps). The ceiling: the highest step that also has a dispatch lag p99
 *    under 5 ms; the highest rate kept to at all is printed beside it.
 * 2. Streams: closed-loop steps of 10, 20, 40, ... concurrent streams (a warm-up round, then 3 rounds) at an
 *    upstream with TTFT 100 ms and 10 tokens 20 ms apart (precise timers), doubling while nothing fails (at
 *    most 1,600). The ceiling: the most streams with the median TTFT within 2 ms of the upstream's 100 ms; the
 *    most streams driven without failures is printed beside it.
 * The machine is shared: figures vary with what else runs on it (the load average is printed with them).
 */
import { readFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import type { Report } from "../packages/loadgen/src/Report.js"
import { fixed, out, row, title } from "./lib/report.js"
import { runInSession } from "./lib/session.js"
import { configureSim, repoRoot, type SimProcess, startSimProcess } from "./lib/stack.js"
import type { Session } from "./lib/session.js"

const cli = join(repoRoot, "packages", "loadgen", "dist", "cli.js")
const STEP_SECONDS = 3
const MAX_STREAMS = 1_600
const STREAM_TTFT_MS = 100

interface Step {
  readonly load: number
  /** The ceiling's rule (lag p99 < 5 ms, or TTFT error < 2 ms). */
  readonly holds: boolean
  /** Driven at all: on schedule (rate) and no failure. */
  readonly driven: boolean
  readonly report: Report
}

let runs = 0

/** One `loadtest` process; its JSON report. */
const loadtest = async (session: Session, args: ReadonlyArray<string>): Promise<Report> => {
  const json = join(session.tempDir, `run-${runs++}.json`)
  const child = session.children.spawn("loadtest", process.execPath, [cli, ...args, "--quiet", "--json", json], { cwd: repoRoot })
  const code = await child.exited
  if (code !== 0 && code !== 1) throw new Error(`loadtest exited ${code}:\n${child.tail()}`)
  return JSON.parse(readFileSync(json, "utf8")) as Report
}

const rateStep = async (session: Session, sim: SimProcess, workers: number, rate: number): Promise<Step> => {
  const report = await loadtest(session, [
    "--base-url", sim.baseUrl, "--rate", String(rate), "--duration", String(STEP_SECONDS), "--warmup", "1",
    "--max-tokens", "4", "--workers", String(workers), "--timeout", "30"
  ])
  const check = report.self_check
  const driven = check.achieved_rate !== null && check.target_rate !== null &&
    check.achieved_rate >= check.target_rate * 0.98 && report.failed === 0
  return { load: rate, holds: driven && check.dispatch_lag_p99_ms < 5, driven, report }
}

const streamStep = async (session: Session, sim: SimProcess, workers: number, streams: number): Promise<Step> => {
  const report = await loadtest(session, [
    "--base-url", sim.baseUrl, "--concurrency", String(streams), "--requests", String(3 * streams),
    "--warmup", `${streams}r`, "--workers", String(workers), "--timeout", "60"
  ])
  const driven = report.failed === 0 && report.completed === 3 * streams
  return { load: streams, holds: driven && Math.abs(report.p50_ttft_ms - STREAM_TTFT_MS) < 2, driven, report }
}

/**
 * Doubles from `start` while the load is driven (or up to `max`), then bisects twice between the last driven
 * step and the first that was not. Returns the highest step that held the rule and the highest driven.
 */
const ceiling = async (start: number, max: number, step: (load: number) => Promise<Step>, print: (s: Step) => void) => {
  let held: Step | null = null
  let driven: Step | null = null
  let miss: number | null = null
  const record = (s: Step) => {
    print(s)
    if (s.holds && (held === null || s.load > held.load)) held = s
    if (s.driven && (driven === null || s.load > driven.load)) driven = s
    return s.driven
  }
  for (let load = start; load <= max; load *= 2) {
    if (!record(await step(load))) {
      miss = load
      break
    }
  }
  for (let i = 0; i < 2 && miss !== null && driven !== null; i++) {
    const load = Math.round(((driven as Step).load + miss) / 2)
    if (load === (driven as Step).load || load === miss) break
    if (!record(await step(load))) miss = load
  }
  return { held: held as Step | null, driven: driven as Step | null }
}

const widths = [10, 12, 14, 14, 14, 12, 8]

const verdictOf = (s: Step) => (s.holds ? "holds" : s.driven ? "driven" : "misses")

const printRate = (s: Step) =>
  out(row([
    String(s.load),
    fixed(s.report.self_check.achieved_rate ?? Number.NaN, 1),
    fixed(s.report.self_check.dispatch_lag_p50_ms, 2),
    fixed(s.report.self_check.dispatch_lag_p99_ms, 2),
    fixed(s.report.self_check.event_loop_delay_p99_ms, 2),
    String(s.report.failed),
    verdictOf(s)
  ], widths))

const printStreams = (s: Step) =>
  out(row([
    String(s.load),
    fixed(s.report.p50_ttft_ms, 2),
    fixed(s.report.p50_ttft_ms - STREAM_TTFT_MS, 2),
    fixed(s.report.p50_itl_ms, 2),
    fixed(s.report.self_check.event_loop_delay_p99_ms, 2),
    String(s.report.failed),
    verdictOf(s)
  ], widths))

runInSession("bench:loadgen", async (session) => {
  const build = session.children.spawn("build", process.execPath, [join(repoRoot, "packages", "loadgen", "build.mjs")], { cwd: repoRoot })
  if ((await build.exited) !== 0) throw new Error(`packages/loadgen/build.mjs failed:\n${build.tail()}`)
  title("bench:loadgen")
  out(`load average before: ${loadavg().map((x) => x.toFixed(1)).join(", ")}`)
  out()
  const sim = await startSimProcess(session.children, "upstream", ["--output-tokens", "4"])
  const results: Array<string> = []
  for (const workers of [1, 2]) {
    out(`Rate, ${workers} worker${workers > 1 ? "s" : ""} (upstream answers at once, 4 tokens):`)
    out(row(["req/s", "achieved", "lag p50 ms", "lag p99 ms", "loop p99 ms", "failed", ""], widths))
    await configureSim(sim, { ttftMs: 0, interTokenMs: 0, outputTokens: 4, preciseTimers: false })
    const rate = await ceiling(100, 64_000, (r) => rateStep(session, sim, workers, r), printRate)
    out()
    out(`Streams, ${workers} worker${workers > 1 ? "s" : ""} (upstream TTFT ${STREAM_TTFT_MS} ms, 10 tokens 20 ms apart):`)
    out(row(["streams", "TTFT p50", "TTFT error", "ITL p50", "loop p99 ms", "failed", ""], widths))
    await configureSim(sim, { ttftMs: STREAM_TTFT_MS, interTokenMs: 20, outputTokens: 10, preciseTimers: true })
    const streams = await ceiling(10, MAX_STREAMS, (n) => streamStep(session, sim, workers, n), printStreams)
    out()
    const w = `${workers} worker${workers > 1 ? "s" : ""}`
    results.push(
      `${w}: rate with dispatch lag p99 < 5 ms: ${rate.held === null ? "none" : `${rate.held.load} req/s`} ` +
        `(kept to the schedule up to ${rate.driven === null ? "none" : `${rate.driven.load} req/s`}); ` +
        `streams with TTFT p50 error < 2 ms: ${streams.held === null ? "none" : streams.held.load} ` +
        `(driven without failures up to ${streams.driven === null ? "none" : streams.driven.load})`
    )
  }
  out("Ceiling:")
  for (const line of results) out(`  ${line}`)
  out(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(", ")}`)
})
