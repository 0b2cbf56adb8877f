/**
 * `corepack pnpm bench:loadgen`: the load producer's own ceiling, the most it drives before its figures become
 * its own fault. It prints figures and asserts nothing.
 *
 * Method. The `loadtest` CLI as shipped (`packages/loadgen/dist/cli.js`, built first) runs once per step, each
 * in its own process, against a fast simulated upstream (the upstream-sim CLI, another process) on 127.0.0.1;
 * each step's JSON report gives the figures. For 1 and 2 worker threads:
 * 1. Rate: constant-rate Poisson steps (1 s warm-up, then 3 s) of 100, 200, 400, ... req/s at an upstream
 *    answering at once (4 tokens, no delays), doubling until a step misses, then two bisection steps. A step
 *    holds when the dispatch lag p99 is under 5 ms, the sends keep to the schedule within 2 % and nothing fails.
 * 2. Streams: closed-loop steps of 10, 20, 40, ... concurrent streams (a warm-up round, then 3 rounds) at an
 *    upstream with TTFT 100 ms and 10 tokens 20 ms apart, doubling until a step misses (at most 1,600). A step
 *    holds when the median TTFT is within 2 ms of the upstream's 100 ms and nothing fails (the upstream's own
 *    timer lateness counts against it).
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
  readonly holds: boolean
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
  const holds = check.dispatch_lag_p99_ms < 5 && check.achieved_rate !== null && check.target_rate !== null &&
    check.achieved_rate >= check.target_rate * 0.98 && report.failed === 0
  return { load: rate, holds, report }
}

const streamStep = async (session: Session, sim: SimProcess, workers: number, streams: number): Promise<Step> => {
  const report = await loadtest(session, [
    "--base-url", sim.baseUrl, "--concurrency", String(streams), "--requests", String(3 * streams),
    "--warmup", `${streams}r`, "--workers", String(workers), "--timeout", "60"
  ])
  const holds = Math.abs(report.p50_ttft_ms - STREAM_TTFT_MS) < 2 && report.failed === 0
  return { load: streams, holds, report }
}

/** Doubles from `start` until a step misses (or `max`), then bisects twice between the last hold and the miss. */
const ceiling = async (start: number, max: number, step: (load: number) => Promise<Step>, print: (s: Step) => void) => {
  let best: Step | null = null
  let miss: number | null = null
  for (let load = start; load <= max; load *= 2) {
    const s = await step(load)
    print(s)
    if (!s.holds) {
      miss = load
      break
    }
    best = s
  }
  for (let i = 0; i < 2 && miss !== null && best !== null; i++) {
    const load = Math.round((best.load + miss) / 2)
    if (load === best.load || load === miss) break
    const s = await step(load)
    print(s)
    if (s.holds) best = s
    else miss = load
  }
  return best
}

const widths = [10, 12, 14, 14, 14, 12, 8]

const printRate = (s: Step) =>
  out(row([
    String(s.load),
    fixed(s.report.self_check.achieved_rate ?? Number.NaN, 1),
    fixed(s.report.self_check.dispatch_lag_p50_ms, 2),
    fixed(s.report.self_check.dispatch_lag_p99_ms, 2),
    fixed(s.report.self_check.event_loop_delay_p99_ms, 2),
    String(s.report.failed),
    s.holds ? "holds" : "misses"
  ], widths))

const printStreams = (s: Step) =>
  out(row([
    String(s.load),
    fixed(s.report.p50_ttft_ms, 2),
    fixed(s.report.p50_ttft_ms - STREAM_TTFT_MS, 2),
    fixed(s.report.p50_itl_ms, 2),
    fixed(s.report.self_check.event_loop_delay_p99_ms, 2),
    String(s.report.failed),
    s.holds ? "holds" : "misses"
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
    await configureSim(sim, { ttftMs: 0, interTokenMs: 0, outputTokens: 4 })
    const rate = await ceiling(100, 64_000, (r) => rateStep(session, sim, workers, r), printRate)
    out()
    out(`Streams, ${workers} worker${workers > 1 ? "s" : ""} (upstream TTFT ${STREAM_TTFT_MS} ms, 10 tokens 20 ms apart):`)
    out(row(["streams", "TTFT p50", "TTFT error", "ITL p50", "loop p99 ms", "failed", ""], widths))
    await configureSim(sim, { ttftMs: STREAM_TTFT_MS, interTokenMs: 20, outputTokens: 10 })
    const streams = await ceiling(10, MAX_STREAMS, (n) => streamStep(session, sim, workers, n), printStreams)
    out()
    results.push(
      `${workers} worker${workers > 1 ? "s" : ""}: highest rate held ${rate === null ? "none" : `${rate.load} req/s`}; ` +
        `most streams within 2 ms TTFT p50 ${streams === null ? "none" : streams.load}`
    )
  }
  out("Ceiling (dispatch lag p99 < 5 ms and on schedule; median TTFT error < 2 ms):")
  for (const line of results) out(`  ${line}`)
  out(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(", ")}`)
})
