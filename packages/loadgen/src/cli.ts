/**
 * `loadtest`: runs one load and prints vLLM's summary table (and a live progress line on a terminal), or
 * compares two JSON reports. Ctrl-C ends the in-flight requests and still writes the report (a second
 * Ctrl-C quits at once).
 */
import { Effect } from "effect"
import { readFileSync, writeFileSync } from "node:fs"
import { parseArgs, usage } from "./CliArgs.js"
import { compareReports } from "./Compare.js"
import { requestsCsv } from "./Csv.js"
import type { SeriesPoint } from "./Records.js"
import { buildReport, type Report } from "./Report.js"
import { runLoad } from "./Run.js"
import { buildSelfCheck } from "./SelfCheck.js"
import { formatCompare, formatReport } from "./Table.js"
import { failedThresholds, isNumericFigure } from "./Thresholds.js"
import type { RequestRecord } from "./Records.js"

const EXIT_DONE = 0
const EXIT_FAILED = 1
const EXIT_BAD_ARGS = 2
const EXIT_INTERRUPTED = 130

const readReport = (path: string): Report => JSON.parse(readFileSync(path, "utf8")) as Report

const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const command = parseArgs(argv)
  switch (command.kind) {
    case "error":
      process.stderr.write(`loadtest: ${command.message}\n`)
      return EXIT_BAD_ARGS
    case "help":
      process.stdout.write(usage)
      return EXIT_DONE
    case "compare": {
      let a: Report
      let b: Report
      try {
        a = readReport(command.a)
        b = readReport(command.b)
      } catch (error) {
        process.stderr.write(`loadtest compare: ${error instanceof Error ? error.message : String(error)}\n`)
        return EXIT_BAD_ARGS
      }
      process.stdout.write(formatCompare(compareReports(a, b), command.a, command.b))
      return EXIT_DONE
    }
  }
  const { settings } = command
  // Fail fast on a --fail-if figure that no report has.
  const empty = buildReport({
    settings,
    model: "",
    status: "done",
    reason: null,
    records: [],
    series: [],
    selfCheck: buildSelfCheck({ loops: [], lagsMs: [], records: [], openLoop: false, capped: false }),
    events: [],
    date: new Date()
  })
  const unknown = command.failIf.find((t) => !isNumericFigure(empty, t.figure))
  if (unknown !== undefined) {
    process.stderr.write(`loadtest: --fail-if: ${unknown.figure} is not a figure of the report\n`)
    return EXIT_BAD_ARGS
  }

  const controller = new AbortController()
  let interrupted = false
  const onSigint = () => {
    if (interrupted) process.exit(EXIT_INTERRUPTED)
    interrupted = true
    process.stderr.write("\nloadtest: stopping (Ctrl-C again to quit at once)\n")
    controller.abort()
  }
  process.on("SIGINT", onSigint)
  process.on("SIGTERM", onSigint)

  const tty = process.stderr.isTTY === true && !command.quiet
  const records: Array<RequestRecord> = []
  let lastTtft: number | null = null
  const progress = (p: SeriesPoint) => {
    if (p.ttft_p50_ms !== null) lastTtft = p.ttft_p50_ms
    process.stderr.write(
      `\r${p.t.toFixed(0).padStart(5)} s  sent ${p.sent}  done ${p.completed}  errors ${p.failed}  ${
        p.request_throughput.toFixed(1)
      } req/s  ${p.output_throughput.toFixed(0)} tok/s  TTFT p50 ${lastTtft === null ? "-" : lastTtft.toFixed(1)} ms   `
    )
  }
  const result = await Effect.runPromise(
    runLoad(settings, {
      signal: controller.signal,
      onRequest: (r) => records.push(r),
      ...(tty ? { onPoint: progress } : {}),
      onEvent: (e) => {
        if (e.level !== "info" && !command.quiet) process.stderr.write(`${tty ? "\n" : ""}loadtest: ${e.message}\n`)
      }
    })
  )
  if (tty) process.stderr.write("\n")
  const { report } = result
  if (command.json !== null) writeFileSync(command.json, JSON.stringify(report, null, 2) + "\n")
  if (command.csv !== null) writeFileSync(command.csv, requestsCsv(records))
  // A run that could send nothing has said why already: no table of zeros.
  const sentNothing = report.num_prompts === 0 && result.status === "failed"
  if (!command.quiet && !sentNothing) process.stdout.write(formatReport(report))
  // --quiet still says why a run failed (the events said it otherwise)
  if (command.quiet && result.status === "failed") process.stderr.write(`loadtest: ${result.reason}\n`)
  const failed = failedThresholds(report, command.failIf)
  for (const f of failed) process.stderr.write(`loadtest: --fail-if: ${f}\n`)
  if (result.status === "stopped") return EXIT_INTERRUPTED
  return result.status === "failed" || failed.length > 0 ? EXIT_FAILED : EXIT_DONE
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    process.stderr.write(`loadtest: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    // an unexpected failure may leave sockets and timers open: exit rather than hang
    process.exit(EXIT_FAILED)
  }
)
