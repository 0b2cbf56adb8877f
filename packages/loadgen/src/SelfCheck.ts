/**
 * The engine's check of itself: was the client the bottleneck? Event-loop delay (a late loop delays
 * every timestamp), dispatch lag (sends later than the schedule), and the achieved against the scheduled
 * rate. Beyond 5 ms p99, or 2 % short of the rate, the report says the client was saturated and which
 * figures that makes worse.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks"
import type { RequestRecord } from "./Records.js"
import type { SelfCheck } from "./Report.js"
import { percentile } from "./Stats.js"

export const SATURATION_MS = 5
export const RATE_SHORTFALL = 0.02

export interface LoopDelay {
  readonly p99_ms: number
  readonly max_ms: number
}

/**
 * Starts sampling the event-loop delay of this thread; `measuring` forgets the warm-up's samples (once, at
 * the first measured send); `stop` returns the p99 and max.
 */
export const monitorLoop = (): { measuring(): void; stop(): LoopDelay } => {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  let measuring = false
  return {
    measuring() {
      if (measuring) return
      measuring = true
      histogram.reset()
    },
    stop() {
      histogram.disable()
      const empty = histogram.count === 0
      return { p99_ms: empty ? 0 : histogram.percentile(99) / 1e6, max_ms: empty ? 0 : histogram.max / 1e6 }
    }
  }
}

/** The least-squares slope of `ys` over their index: the mean gap, robust to one late point at either end. */
const slope = (ys: ReadonlyArray<number>): number => {
  const n = ys.length
  const meanX = (n - 1) / 2
  let meanY = 0
  for (const y of ys) meanY += y
  meanY /= n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (i - meanX) * (ys[i]! - meanY)
    sxx += (i - meanX) * (i - meanX)
  }
  return sxy / sxx
}

/** The rate the measured requests were scheduled at and the rate they were sent at, in schedule order. */
const rates = (records: ReadonlyArray<RequestRecord>): { target: number; achieved: number } | null => {
  if (records.length < 3) return null
  const ordered = [...records].sort((a, b) => a.intended_time - b.intended_time)
  const intended = slope(ordered.map((r) => r.intended_time))
  const sent = slope(ordered.map((r) => r.start_time))
  return intended > 0 && sent > 0 ? { target: 1 / intended, achieved: 1 / sent } : null
}

export const buildSelfCheck = (input: {
  readonly loops: ReadonlyArray<LoopDelay>
  readonly lagsMs: ReadonlyArray<number>
  /** Measured records of the run. */
  readonly records: ReadonlyArray<RequestRecord>
  readonly openLoop: boolean
  readonly capped: boolean
}): SelfCheck => {
  const loopP99 = Math.max(0, ...input.loops.map((l) => l.p99_ms))
  const loopMax = Math.max(0, ...input.loops.map((l) => l.max_ms))
  const lags = input.lagsMs
  const lagP99 = lags.length > 0 ? percentile(lags, 99) : 0
  const rate = input.openLoop ? rates(input.records) : null
  const affected = new Set<string>()
  const notes: Array<string> = []
  if (loopP99 > SATURATION_MS) {
    notes.push(`event-loop delay p99 ${loopP99.toFixed(1)} ms > ${SATURATION_MS} ms: chunk timestamps were taken late`)
    for (const f of ["ttft", "itl", "tpot", "e2el"]) affected.add(f)
  }
  if (lagP99 > SATURATION_MS) {
    notes.push(`dispatch lag p99 ${lagP99.toFixed(1)} ms > ${SATURATION_MS} ms: sends left later than scheduled`)
    for (const f of ["request_rate", "client_queue_time", "e2el_including_client_queue"]) affected.add(f)
  }
  const short = rate !== null && rate.achieved < rate.target * (1 - RATE_SHORTFALL)
  if (short && rate !== null) {
    const pct = ((1 - rate.achieved / rate.target) * 100).toFixed(1)
    if (input.capped) {
      notes.push(`sent ${pct} % below the scheduled rate: the concurrency cap held requests back (see client_queue_time)`)
    } else {
      notes.push(`sent ${pct} % below the scheduled rate (${rate.achieved.toFixed(2)} of ${rate.target.toFixed(2)} req/s)`)
      for (const f of ["request_rate", "request_throughput", "output_throughput"]) affected.add(f)
    }
  }
  return {
    event_loop_delay_p99_ms: loopP99,
    event_loop_delay_max_ms: loopMax,
    dispatch_lag_p50_ms: lags.length > 0 ? percentile(lags, 50) : 0,
    dispatch_lag_p99_ms: lagP99,
    dispatch_lag_max_ms: lags.reduce((max, x) => (x > max ? x : max), 0),
    target_rate: rate?.target ?? null,
    achieved_rate: rate?.achieved ?? null,
    saturated: affected.size > 0,
    affected: [...affected],
    notes
  }
}
