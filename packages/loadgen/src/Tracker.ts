/**
 * The run's live book-keeping in the main thread: counts, the per-second series, the records, the lag
 * samples and the error-rate window. Fed by the engine's sink directly, or by worker threads' batches.
 */
import type { RequestRecord, SeriesPoint } from "./Records.js"
import { percentileOfSorted, sortedCopy } from "./Stats.js"

/** The error-rate stop looks at the last `errorWindow(limit)` finished requests, never fewer than 20. */
export const errorWindow = (limit: number): number => Math.min(1000, Math.max(20, Math.ceil(2 / Math.max(limit, 1e-9))))

const p = (samples: Array<number>, q: number): number | null =>
  samples.length === 0 ? null : percentileOfSorted(sortedCopy(samples), q)

export class Tracker {
  readonly records: Array<RequestRecord> = []
  readonly lagsMs: Array<number> = []
  readonly series: Array<SeriesPoint> = []
  private sent = 0
  private completed = 0
  private failed = 0
  // the current second
  private tokens = 0
  private finishedNow = 0
  private failedNow = 0
  private ttfts: Array<number> = []
  private itls: Array<number> = []
  // error-rate window: a ring of the last finished requests' failure flags
  private readonly ring: Uint8Array
  private ringCount = 0
  private ringFailed = 0
  private ringAt = 0

  constructor(private readonly maxErrorRate: number | undefined, private readonly onRecord?: (r: RequestRecord) => void) {
    this.ring = new Uint8Array(maxErrorRate === undefined ? 1 : errorWindow(maxErrorRate))
  }

  /** A send; the dispatch lag of a measured one is kept for the self-check. */
  send(lagMs: number | null, warmup: boolean): void {
    this.sent++
    if (lagMs !== null && !warmup) this.lagsMs.push(lagMs)
  }

  output(ttftMs: number | null, gapMs: number | null, tokens: number): void {
    this.tokens += tokens
    if (ttftMs !== null) this.ttfts.push(ttftMs)
    if (gapMs !== null) this.itls.push(gapMs)
  }

  record(r: RequestRecord): void {
    this.records.push(r)
    this.finishedNow++
    if (r.ok) this.completed++
    else {
      this.failed++
      this.failedNow++
    }
    const fail = r.ok ? 0 : 1
    if (this.ringCount === this.ring.length) this.ringFailed -= this.ring[this.ringAt]!
    else this.ringCount++
    this.ring[this.ringAt] = fail
    this.ringFailed += fail
    this.ringAt = (this.ringAt + 1) % this.ring.length
    this.onRecord?.(r)
  }

  /** The error rate over a full window when it exceeds the limit, else null. */
  errorRateExceeded(): number | null {
    if (this.maxErrorRate === undefined || this.ringCount < this.ring.length) return null
    const rate = this.ringFailed / this.ringCount
    return rate > this.maxErrorRate ? rate : null
  }

  get inFlight(): number {
    return this.sent - this.completed - this.failed
  }

  get counts() {
    return { sent: this.sent, completed: this.completed, failed: this.failed }
  }

  /** Closes the current second (`seconds` long, the last one may be shorter) into a point. */
  tick(t: number, seconds = 1): SeriesPoint {
    const point: SeriesPoint = {
      t,
      sent: this.sent,
      completed: this.completed,
      failed: this.failed,
      in_flight: this.inFlight,
      request_throughput: (this.finishedNow - this.failedNow) / seconds,
      output_throughput: this.tokens / seconds,
      ttft_p50_ms: p(this.ttfts, 50),
      ttft_p99_ms: p(this.ttfts, 99),
      itl_p50_ms: p(this.itls, 50),
      itl_p99_ms: p(this.itls, 99),
      error_rate: this.finishedNow > 0 ? this.failedNow / this.finishedNow : null
    }
    this.series.push(point)
    this.tokens = 0
    this.finishedNow = 0
    this.failedNow = 0
    this.ttfts = []
    this.itls = []
    return point
  }
}
