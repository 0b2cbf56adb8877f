/** The `--csv` content: a header row and one row a request, warm-up ones included and marked. */
import type { RequestRecord } from "./Records.js"

export const csvColumns = [
  "request_id",
  "start_time",
  "intended_time",
  "status",
  "ok",
  "ttft_ms",
  "e2el_ms",
  "tpot_ms",
  "client_queue_ms",
  "input_tokens",
  "output_tokens",
  "estimated",
  "endpoint",
  "error",
  "warmup"
] as const

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
const field = (value: unknown): string => {
  if (value === null || value === undefined) return ""
  const text = typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, "\"\"")}"` : text
}

export const requestsCsv = (records: ReadonlyArray<RequestRecord>): string => {
  const rows = [csvColumns.join(",")]
  for (const r of records) {
    rows.push(csvColumns.map((c) => field(c === "start_time" || c === "intended_time" ? r[c].toFixed(6) : r[c])).join(","))
  }
  return rows.join("\n") + "\n"
}
