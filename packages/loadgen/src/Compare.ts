/** `loadtest compare A.json B.json`: two reports side by side, each figure with its relative change. */
import type { Report } from "./Report.js"

export interface CompareRow {
  readonly figure: string
  readonly a: number | null
  readonly b: number | null
  /** (b - a) / a; null when a is 0 or either is missing. */
  readonly change: number | null
}

/** The figures compared, in the order the summary table prints them. */
export const comparedFigures = [
  "completed",
  "failed",
  "duration",
  "total_input_tokens",
  "total_output_tokens",
  "request_throughput",
  "request_goodput",
  "output_throughput",
  "total_token_throughput",
  "max_output_tokens_per_s",
  "max_concurrent_requests",
  "error_rate",
  ...["ttft", "tpot", "itl", "e2el", "client_queue_time"].flatMap((f) =>
    ["mean", "median", "p90", "p99"].map((s) => `${s}_${f}_ms`)
  )
] as const

const numberOf = (report: Report, figure: string): number | null => {
  const value = (report as unknown as Record<string, unknown>)[figure]
  return typeof value === "number" && Number.isFinite(value) ? value : null
}

export const compareReports = (a: Report, b: Report): ReadonlyArray<CompareRow> =>
  comparedFigures.map((figure) => {
    const x = numberOf(a, figure)
    const y = numberOf(b, figure)
    return { figure, a: x, b: y, change: x === null || y === null || x === 0 ? null : (y - x) / x }
  })
