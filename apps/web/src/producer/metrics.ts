/**
 * The figures of a report with vLLM's names (`vllm bench serve`), each with a one-line explanation, and
 * how to print them.
 */
export interface Figure {
  readonly key: string
  readonly unit: string
  readonly explain: string
}

const latency = (name: string, what: string): ReadonlyArray<Figure> =>
  (["mean", "median", "p90", "p99"] as const).map((stat) => ({
    key: `${stat}_${name}_ms`,
    unit: "ms",
    explain: `${stat === "mean" ? "Mean" : stat === "median" ? "Median" : stat.toUpperCase()} of ${what}`
  }))

export const figures: ReadonlyArray<Figure> = [
  { key: "completed", unit: "", explain: "Requests that succeeded (warm-up excluded)" },
  { key: "failed", unit: "", explain: "Requests that failed: an HTTP error, a broken stream, a timeout" },
  { key: "duration", unit: "s", explain: "First send to last completion" },
  { key: "total_input_tokens", unit: "", explain: "Prompt tokens of the completed requests (usage.prompt_tokens)" },
  { key: "total_output_tokens", unit: "", explain: "Completion tokens of the completed requests (usage, else counted chunks)" },
  { key: "request_throughput", unit: "req/s", explain: "Completed requests / duration" },
  { key: "request_goodput", unit: "req/s", explain: "Completed requests that met every goodput SLO / duration" },
  { key: "output_throughput", unit: "tok/s", explain: "Output tokens / duration" },
  { key: "total_token_throughput", unit: "tok/s", explain: "Input and output tokens / duration" },
  { key: "max_output_tokens_per_s", unit: "tok/s", explain: "The most output tokens received in one second" },
  { key: "max_concurrent_requests", unit: "", explain: "The most requests in flight at once" },
  { key: "error_rate", unit: "", explain: "Failed / (completed + failed)" },
  ...latency("ttft", "time to first token: send to the first chunk carrying output (a role-only chunk does not count)"),
  ...latency("tpot", "time per output token: (E2EL - TTFT) / (output tokens - 1)"),
  ...latency("itl", "inter-token latency: gaps between consecutive output chunks, pooled"),
  ...latency("e2el", "end-to-end latency: send to the last output chunk"),
  ...latency("client_queue_time", "the client's own wait: intended to actual send (coordinated omission)")
]

export const format = (value: unknown, unit = ""): string => {
  if (typeof value !== "number" || !Number.isFinite(value)) return "-"
  const digits = Number.isInteger(value) ? 0 : Math.abs(value) >= 100 ? 1 : 2
  return `${value.toFixed(digits)}${unit === "" ? "" : ` ${unit}`}`
}

export const percent = (value: number | null): string => (value === null ? "-" : `${value >= 0 ? "+" : ""}${(value * 100).toFixed(1)} %`)
