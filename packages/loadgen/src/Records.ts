/**
 * What a run produces besides its report: one record a request, one series point a second, events.
 * Plain JSON values (they cross worker threads and WebSockets as they are).
 */

/** One request as measured from its per-chunk trace. Times in ms unless named `_time` (epoch seconds). */
export interface RequestRecord {
  /** The `X-Request-ID` it sent. */
  readonly request_id: string
  /** The actual send, epoch seconds. */
  readonly start_time: number
  /** The schedule's send time, epoch seconds (= start_time in a closed loop, unless the client lagged). */
  readonly intended_time: number
  /** HTTP status, 0 when no response arrived (network error, timeout, stopped). */
  readonly status: number
  readonly ok: boolean
  /** Send to the first chunk carrying output (content, text, reasoning or a tool call); null without output. */
  readonly ttft_ms: number | null
  /** Send to the last output chunk (a failure: to the failure; non-streaming: to the whole body). */
  readonly e2el_ms: number | null
  /** (E2EL - TTFT) / (output tokens - 1); null unless more than one output token. */
  readonly tpot_ms: number | null
  /** Gaps between consecutive output chunks. */
  readonly itls_ms: ReadonlyArray<number>
  /** Completion tokens of each output chunk when the stream said so (continuous usage), else null. */
  readonly chunk_tokens: ReadonlyArray<number> | null
  /** `usage.prompt_tokens`, else the prompt's estimate (4 characters a token). */
  readonly input_tokens: number
  /** `usage.completion_tokens`, else the number of output chunks (`estimated`). */
  readonly output_tokens: number
  readonly estimated: boolean
  /** The response's `X-LB-Endpoint` (the balancer's backend), null when absent. */
  readonly endpoint: string | null
  readonly error: string | null
  /** Intended to actual send: the time the request waited in the client. */
  readonly client_queue_ms: number
  /** Sent during the warm-up: excluded from every statistic. */
  readonly warmup: boolean
}

/** One point of the per-second series. Figures of that second unless said cumulative. */
export interface SeriesPoint {
  /** Seconds since the run's start (the end of the second the point covers). */
  readonly t: number
  /** Cumulative. */
  readonly sent: number
  readonly completed: number
  readonly failed: number
  /** Now. */
  readonly in_flight: number
  /** Requests completed in that second, per second. */
  readonly request_throughput: number
  /** Output tokens received in that second (a chunk counts its usage delta when known, else 1). */
  readonly output_throughput: number
  /** Of the requests whose first output arrived in that second; null when none did. */
  readonly ttft_p50_ms: number | null
  readonly ttft_p99_ms: number | null
  /** Of the chunk gaps measured in that second. */
  readonly itl_p50_ms: number | null
  readonly itl_p99_ms: number | null
  /** Failed / finished in that second; null when none finished. */
  readonly error_rate: number | null
}

export interface RunEvent {
  readonly time: string
  readonly level: "info" | "warn" | "error"
  readonly message: string
}

export const runEvent = (level: RunEvent["level"], message: string): RunEvent => ({
  time: new Date().toISOString(),
  level,
  message
})
