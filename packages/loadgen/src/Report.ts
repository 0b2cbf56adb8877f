/**
 * The run report: vLLM's `bench serve` result fields at the top level with its definitions, then ours
 * (settings, per-endpoint breakdown, per-second series, self-check, per-request arrays). Pure: built from
 * the request records and what the run observed.
 */
import type { RequestRecord, RunEvent, SeriesPoint } from "./Records.js"
import { rampKind, reportedSettings, type RunSettings } from "./Settings.js"
import { percentile, summarize } from "./Stats.js"

/** The figures reported with mean, median, std and percentiles, as `mean_<name>_ms` etc. */
export const latencyFigures = [
  "ttft",
  "tpot",
  "itl",
  "e2el",
  "client_queue_time",
  "e2el_including_client_queue",
  "token_itl"
] as const
export type LatencyFigure = typeof latencyFigures[number]

const statNames = ["mean", "median", "std", "p50", "p90", "p95", "p99"] as const
type LatencyFields = { readonly [K in `${typeof statNames[number]}_${LatencyFigure}_ms`]: number }

export interface EndpointStats {
  readonly requests: number
  readonly completed: number
  readonly errors: number
  readonly output_tokens: number
  /** This endpoint's share of the run's output tokens, 0..1. */
  readonly output_token_share: number
  readonly ttft_p50_ms: number | null
  readonly ttft_p99_ms: number | null
}

export interface SelfCheck {
  readonly event_loop_delay_p99_ms: number
  readonly event_loop_delay_max_ms: number
  /** Actual minus due send time of the paced sends. */
  readonly dispatch_lag_p50_ms: number
  readonly dispatch_lag_p99_ms: number
  readonly dispatch_lag_max_ms: number
  /** The schedule's rate over the measured sends (null in a closed loop), and what was sent. */
  readonly target_rate: number | null
  readonly achieved_rate: number | null
  readonly saturated: boolean
  /** The figures a saturated client made worse. */
  readonly affected: ReadonlyArray<string>
  readonly notes: ReadonlyArray<string>
}

export type Report = LatencyFields & {
  readonly date: string
  readonly status: "done" | "stopped" | "failed"
  readonly reason: string | null
  readonly endpoint_type: "openai-chat" | "openai"
  readonly model_id: string
  readonly num_prompts: number
  /** req/s of the schedule, "inf" in a closed loop (as vLLM writes an unlimited rate). */
  readonly request_rate: number | "inf"
  readonly burstiness: number
  readonly max_concurrency: number | null
  readonly duration: number
  readonly completed: number
  readonly failed: number
  readonly total_input_tokens: number
  readonly total_output_tokens: number
  readonly request_throughput: number
  readonly request_goodput: number | null
  readonly output_throughput: number
  readonly total_token_throughput: number
  readonly max_output_tokens_per_s: number
  readonly max_concurrent_requests: number
  readonly error_rate: number
  readonly output_tokens_estimated: number
  readonly settings: ReturnType<typeof reportedSettings>
  readonly endpoints: Readonly<Record<string, EndpointStats>>
  readonly series: ReadonlyArray<SeriesPoint>
  readonly self_check: SelfCheck
  readonly events: ReadonlyArray<RunEvent>
  /** Per request, in send order, seconds as vLLM writes them (0 where a failed request has none). */
  readonly input_lens: ReadonlyArray<number>
  readonly output_lens: ReadonlyArray<number>
  readonly ttfts: ReadonlyArray<number>
  readonly itls: ReadonlyArray<ReadonlyArray<number>>
  readonly latencies: ReadonlyArray<number>
  readonly start_times: ReadonlyArray<number>
  readonly errors: ReadonlyArray<string>
  readonly request_ids: ReadonlyArray<string>
}

export interface ReportInput {
  readonly settings: RunSettings
  readonly model: string
  readonly status: Report["status"]
  readonly reason: string | null
  /** Every record, warm-up included (excluded here). */
  readonly records: ReadonlyArray<RequestRecord>
  readonly series: ReadonlyArray<SeriesPoint>
  readonly selfCheck: SelfCheck
  readonly events: ReadonlyArray<RunEvent>
  readonly date: Date
}

/** The key of requests that came without `X-LB-Endpoint` (straight to a server, or failed before). */
export const NO_ENDPOINT = "(none)"

/** Output chunk arrival times (epoch seconds) and their tokens: a chunk's usage delta, else an even share. */
const tokenArrivals = (r: RequestRecord, visit: (time: number, tokens: number) => void): void => {
  if (r.ttft_ms === null) return
  const chunks = r.itls_ms.length + 1
  const even = r.output_tokens / chunks
  let t = r.start_time + r.ttft_ms / 1000
  visit(t, r.chunk_tokens?.[0] ?? even)
  for (let i = 0; i < r.itls_ms.length; i++) {
    t += r.itls_ms[i]! / 1000
    visit(t, r.chunk_tokens?.[i + 1] ?? even)
  }
}

/** The most output tokens received in one whole second since `origin` (vLLM's `max_output_tokens_per_s`). */
const maxTokensPerSecond = (records: ReadonlyArray<RequestRecord>, origin: number): number => {
  const buckets = new Map<number, number>()
  for (const r of records) {
    if (!r.ok) continue
    tokenArrivals(r, (time, tokens) => {
      const second = Math.floor(time - origin)
      buckets.set(second, (buckets.get(second) ?? 0) + tokens)
    })
  }
  let max = 0
  for (const v of buckets.values()) if (v > max) max = v
  return max
}

/** The most requests in flight at once, from the send and end times. */
const maxConcurrent = (records: ReadonlyArray<RequestRecord>): number => {
  const edges: Array<[number, number]> = []
  for (const r of records) {
    edges.push([r.start_time, 1])
    edges.push([r.start_time + (r.e2el_ms ?? 0) / 1000, -1])
  }
  // ends before starts at the same instant: a request that ends as another starts did not overlap it
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let now = 0
  let max = 0
  for (const [, d] of edges) {
    now += d
    if (now > max) max = now
  }
  return max
}

const meetsGoodput = (r: RequestRecord, slo: NonNullable<RunSettings["goodput"]>): boolean =>
  r.ok &&
  (slo.ttft_ms === undefined || (r.ttft_ms !== null && r.ttft_ms <= slo.ttft_ms)) &&
  (slo.tpot_ms === undefined || r.tpot_ms === null || r.tpot_ms <= slo.tpot_ms) &&
  (slo.e2el_ms === undefined || (r.e2el_ms !== null && r.e2el_ms <= slo.e2el_ms))

const latencySamples = (records: ReadonlyArray<RequestRecord>): Record<LatencyFigure, Array<number>> => {
  const s: Record<LatencyFigure, Array<number>> = {
    ttft: [],
    tpot: [],
    itl: [],
    e2el: [],
    client_queue_time: [],
    e2el_including_client_queue: [],
    token_itl: []
  }
  for (const r of records) {
    s.client_queue_time.push(r.client_queue_ms)
    if (!r.ok) continue
    if (r.ttft_ms !== null) s.ttft.push(r.ttft_ms)
    if (r.tpot_ms !== null) s.tpot.push(r.tpot_ms)
    if (r.e2el_ms !== null) {
      s.e2el.push(r.e2el_ms)
      s.e2el_including_client_queue.push(r.e2el_ms + r.client_queue_ms)
    }
    for (const gap of r.itls_ms) s.itl.push(gap)
    if (r.chunk_tokens !== null) {
      // a chunk of k tokens: k token gaps sharing its chunk gap
      for (let i = 0; i < r.itls_ms.length; i++) {
        const k = r.chunk_tokens[i + 1] ?? 1
        for (let j = 0; j < k; j++) s.token_itl.push(r.itls_ms[i]! / k)
      }
    }
  }
  return s
}

const endpointBreakdown = (records: ReadonlyArray<RequestRecord>, totalOutput: number): Record<string, EndpointStats> => {
  const groups = new Map<string, Array<RequestRecord>>()
  for (const r of records) {
    const key = r.endpoint ?? NO_ENDPOINT
    let group = groups.get(key)
    if (group === undefined) groups.set(key, group = [])
    group.push(r)
  }
  const out: Record<string, EndpointStats> = {}
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!
    const ok = group.filter((r) => r.ok)
    const ttfts = ok.flatMap((r) => (r.ttft_ms === null ? [] : [r.ttft_ms]))
    const output = ok.reduce((sum, r) => sum + r.output_tokens, 0)
    out[key] = {
      requests: group.length,
      completed: ok.length,
      errors: group.length - ok.length,
      output_tokens: output,
      output_token_share: totalOutput > 0 ? output / totalOutput : 0,
      ttft_p50_ms: ttfts.length > 0 ? percentile(ttfts, 50) : null,
      ttft_p99_ms: ttfts.length > 0 ? percentile(ttfts, 99) : null
    }
  }
  return out
}

export const buildReport = (input: ReportInput): Report => {
  const settings = input.settings
  const records = input.records.filter((r) => !r.warmup).sort((a, b) => a.start_time - b.start_time)
  const ok = records.filter((r) => r.ok)
  const first = records.length > 0 ? records[0]!.start_time : 0
  let last = first
  for (const r of records) last = Math.max(last, r.start_time + (r.e2el_ms ?? 0) / 1000)
  const duration = last - first
  const perSecond = (n: number) => (duration > 0 ? n / duration : 0)
  const totalInput = ok.reduce((sum, r) => sum + r.input_tokens, 0)
  const totalOutput = ok.reduce((sum, r) => sum + r.output_tokens, 0)
  const samples = latencySamples(records)
  const latency: Record<string, number> = {}
  for (const figure of latencyFigures) {
    const summary = summarize(samples[figure])
    for (const stat of statNames) latency[`${stat}_${figure}_ms`] = summary[stat]
  }
  const slo = settings.goodput
  const rampsConcurrency = rampKind(settings) === "concurrency"
  return {
    date: input.date.toISOString(),
    status: input.status,
    reason: input.reason,
    endpoint_type: settings.route === "chat" ? "openai-chat" : "openai",
    model_id: input.model,
    num_prompts: records.length,
    request_rate: settings.rate ?? (settings.ramp !== undefined && !rampsConcurrency ? settings.ramp.to : "inf"),
    burstiness: settings.burstiness,
    max_concurrency: rampsConcurrency ? Math.max(settings.ramp!.from, settings.ramp!.to) : settings.concurrency ?? null,
    duration,
    completed: ok.length,
    failed: records.length - ok.length,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: perSecond(ok.length),
    request_goodput: slo === undefined ? null : perSecond(ok.filter((r) => meetsGoodput(r, slo)).length),
    output_throughput: perSecond(totalOutput),
    total_token_throughput: perSecond(totalInput + totalOutput),
    max_output_tokens_per_s: maxTokensPerSecond(records, first),
    max_concurrent_requests: maxConcurrent(records),
    error_rate: records.length > 0 ? (records.length - ok.length) / records.length : 0,
    output_tokens_estimated: ok.filter((r) => r.estimated).length,
    ...(latency as LatencyFields),
    settings: reportedSettings(settings),
    endpoints: endpointBreakdown(records, totalOutput),
    series: input.series,
    self_check: input.selfCheck,
    events: input.events,
    input_lens: records.map((r) => r.input_tokens),
    output_lens: records.map((r) => (r.ok ? r.output_tokens : 0)),
    ttfts: records.map((r) => (r.ok && r.ttft_ms !== null ? r.ttft_ms / 1000 : 0)),
    itls: records.map((r) => (r.ok ? r.itls_ms.map((x) => x / 1000) : [])),
    latencies: records.map((r) => (r.ok && r.e2el_ms !== null ? r.e2el_ms / 1000 : 0)),
    start_times: records.map((r) => r.start_time),
    errors: records.map((r) => r.error ?? ""),
    request_ids: records.map((r) => r.request_id)
  }
}
