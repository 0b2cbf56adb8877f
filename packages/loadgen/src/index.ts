/**
 * The load engine: arrival schedules, the request runner with per-chunk timing, metrics with vLLM's
 * names and definitions, the report, its CSV and comparison. Used by the `loadtest` CLI and the producer.
 */
export { compareReports, type CompareRow, comparedFigures } from "./Compare.js"
export { csvColumns, requestsCsv } from "./Csv.js"
export { type RequestRecord, type RunEvent, type SeriesPoint } from "./Records.js"
export { buildReport, type EndpointStats, latencyFigures, NO_ENDPOINT, type Report, type SelfCheck } from "./Report.js"
export { LoadError, runLoad, type RunOptions, type RunResult } from "./Run.js"
export { decodeSettings, Goodput, Ramp, rampKind, reportedSettings, RunSettings, settingsProblem, Warmup } from "./Settings.js"
export { makeRng, rateArrivals, standardGamma } from "./Schedule.js"
export { percentile, summarize, type Summary } from "./Stats.js"
