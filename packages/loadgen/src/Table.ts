/** The console tables: the run's summary as vLLM's `bench serve` prints it, the endpoints, the comparison. */
import type { CompareRow } from "./Compare.js"
import type { Report } from "./Report.js"

const WIDTH = 50

const title = (text: string, fill: string) => {
  const pad = Math.max(0, WIDTH - text.length)
  const left = Math.floor(pad / 2)
  return fill.repeat(left) + text + fill.repeat(pad - left)
}

const line = (label: string, value: string | number | null) =>
  `${label.padEnd(40)} ${value === null ? "-" : typeof value === "number" ? fmt(value) : value}`

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(2))

const latencyBlock = (r: Report, heading: string, key: string, label: string): Array<string> => {
  const get = (stat: string) => (r as unknown as Record<string, number>)[`${stat}_${key}_ms`] ?? 0
  return [
    title(heading, "-"),
    line(`Mean ${label} (ms):`, get("mean")),
    line(`Median ${label} (ms):`, get("median")),
    line(`P90 ${label} (ms):`, get("p90")),
    line(`P99 ${label} (ms):`, get("p99"))
  ]
}

export const formatReport = (r: Report): string => {
  const lines = [
    title(" Serving Benchmark Result ", "="),
    line("Status:", r.status + (r.reason === null ? "" : ` (${r.reason})`)),
    line("Successful requests:", r.completed),
    line("Failed requests:", r.failed),
    line("Maximum request concurrency:", r.max_concurrency),
    line("Request rate (req/s):", r.request_rate === "inf" ? "inf" : r.request_rate),
    line("Benchmark duration (s):", r.duration),
    line("Total input tokens:", r.total_input_tokens),
    line("Total generated tokens:", r.total_output_tokens + (r.output_tokens_estimated > 0 ? ` (${r.output_tokens_estimated} requests estimated)` : "")),
    line("Request throughput (req/s):", r.request_throughput),
    ...(r.request_goodput === null ? [] : [line("Request goodput (req/s):", r.request_goodput)]),
    line("Output token throughput (tok/s):", r.output_throughput),
    line("Peak output token throughput (tok/s):", r.max_output_tokens_per_s),
    line("Peak concurrent requests:", r.max_concurrent_requests),
    line("Total Token throughput (tok/s):", r.total_token_throughput),
    line("Error rate (%):", r.error_rate * 100),
    ...latencyBlock(r, "Time to First Token", "ttft", "TTFT"),
    ...latencyBlock(r, "Time per Output Token (excl. 1st token)", "tpot", "TPOT"),
    ...latencyBlock(r, "Inter-token Latency", "itl", "ITL"),
    ...latencyBlock(r, "End-to-end Latency", "e2el", "E2EL"),
    ...latencyBlock(r, "Client Queue Time", "client_queue_time", "queue"),
    title("Endpoints (X-LB-Endpoint)", "-"),
    `${"endpoint".padEnd(24)} ${"requests".padStart(8)} ${"errors".padStart(6)} ${"tokens %".padStart(8)} ${"TTFT p50".padStart(9)} ${"TTFT p99".padStart(9)}`,
    ...Object.entries(r.endpoints).map(([name, e]) =>
      `${name.padEnd(24)} ${String(e.requests).padStart(8)} ${String(e.errors).padStart(6)} ${
        (e.output_token_share * 100).toFixed(1).padStart(8)
      } ${(e.ttft_p50_ms === null ? "-" : e.ttft_p50_ms.toFixed(1)).padStart(9)} ${
        (e.ttft_p99_ms === null ? "-" : e.ttft_p99_ms.toFixed(1)).padStart(9)
      }`
    ),
    title("Client self-check", "-"),
    line("Event-loop delay p99 (ms):", r.self_check.event_loop_delay_p99_ms),
    line("Dispatch lag p99 (ms):", r.self_check.dispatch_lag_p99_ms),
    ...(r.self_check.target_rate === null ?
      [] :
      [line("Achieved / scheduled rate (req/s):", `${fmt(r.self_check.achieved_rate ?? 0)} / ${fmt(r.self_check.target_rate)}`)]),
    line("Client saturated:", r.self_check.saturated ? `yes, affects ${r.self_check.affected.join(", ")}` : "no"),
    ...r.self_check.notes.map((n) => `  ${n}`),
    "=".repeat(WIDTH)
  ]
  return lines.join("\n") + "\n"
}

const cell = (x: number | null) => (x === null ? "-" : fmt(x))

export const formatCompare = (rows: ReadonlyArray<CompareRow>, nameA: string, nameB: string): string => {
  const head = `${"figure".padEnd(34)} ${nameA.slice(-14).padStart(14)} ${nameB.slice(-14).padStart(14)} ${"change".padStart(9)}`
  const body = rows.map((row) =>
    `${row.figure.padEnd(34)} ${cell(row.a).padStart(14)} ${cell(row.b).padStart(14)} ${
      (row.change === null ? "-" : `${row.change >= 0 ? "+" : ""}${(row.change * 100).toFixed(1)}%`).padStart(9)
    }`
  )
  return [head, ...body].join("\n") + "\n"
}
