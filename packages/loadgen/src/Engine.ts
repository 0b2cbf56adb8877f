/**
 * The sending side of a run in one thread: paces sends on the schedule (open loop) or keeps N requests in
 * flight (closed loop), builds each request, and reports sends, output chunks and records to a sink.
 * Plain Node callbacks; the Effect run around it owns its lifetime.
 */
import type { Dispatcher } from "undici"
import { waitUntil } from "./Pacer.js"
import { estimateTokens, makePrompts, type PromptSource } from "./Prompts.js"
import type { RequestRecord } from "./Records.js"
import { InFlight, type RequestSpec } from "./Request.js"
import { type Arrivals, rampConcurrency } from "./Schedule.js"
import type { RunSettings } from "./Settings.js"

/** Arrivals sent in a row without a turn of the event loop when a run is behind its schedule. */
const MAX_BURST = 32

export interface EngineSink {
  /** A request left; `lagMs`: actual minus due time of a paced send (null when it waited for a slot). */
  readonly onSend: (lagMs: number | null, warmup: boolean) => void
  readonly onOutput: (ttftMs: number | null, gapMs: number | null, tokens: number) => void
  readonly onRecord: (record: RequestRecord) => void
  /** Nothing left to send and nothing in flight. */
  readonly onIdle: () => void
}

export type Load =
  | { readonly kind: "open"; readonly arrivals: Arrivals; readonly cap: number | null }
  | { readonly kind: "closed"; readonly concurrency: number; readonly ramp: { readonly from: number; readonly to: number; readonly seconds: number } | null }

export interface EnginePlan {
  readonly settings: RunSettings
  readonly model: string
  readonly basePath: string
  readonly load: Load
  /** This thread's share of the requests: global index = local * stride + offset. */
  readonly stride: number
  readonly offset: number
  /** `performance.now()` of the run's start (t = 0 of the schedule). */
  readonly startAt: number
  readonly runId: string
}

/** Builds the path, headers and body of request `index`: the body's fixed part is serialised once. */
export const requestBuilder = (settings: RunSettings, model: string, basePath: string, runId: string) => {
  const prompts: PromptSource = makePrompts(settings)
  const chat = settings.route === "chat"
  const path = `${basePath}${chat ? "/chat/completions" : "/completions"}`
  const fixed: Record<string, unknown> = {
    model,
    max_tokens: settings.max_tokens,
    stream: settings.stream,
    ...(settings.stream ?
      { stream_options: settings.continuous_usage ? { include_usage: true, continuous_usage_stats: true } : { include_usage: true } } :
      {}),
    ...(settings.temperature === undefined ? {} : { temperature: settings.temperature }),
    ...(settings.ignore_eos === undefined ? {} : { ignore_eos: settings.ignore_eos }),
    ...settings.extra_body
  }
  // The prompt goes last into a template of the serialised fixed fields: one JSON.stringify of the prompt a request.
  const head = JSON.stringify(fixed).slice(0, -1)
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...(settings.api_key === undefined ? {} : { authorization: `Bearer ${settings.api_key}` })
  }
  const timeoutMs = settings.timeout * 1000
  return (index: number, intendedAt: number, warmup: boolean): RequestSpec => {
    const text = prompts.text(index)
    const prompt = JSON.stringify(text)
    const id = `${runId}-${index}`
    return {
      id,
      path,
      headers: { ...headers, "x-request-id": id },
      body: chat ? `${head},"messages":[{"role":"user","content":${prompt}}]}` : `${head},"prompt":${prompt}}`,
      stream: settings.stream,
      continuousUsage: settings.continuous_usage,
      inputEstimate: estimateTokens(text),
      timeoutMs,
      intendedAt,
      warmup
    }
  }
}

/** One claimed request: its global index and whether it belongs to the warm-up. */
interface Claim {
  readonly index: number
  readonly warmup: boolean
}

/** This thread's share of `n` requests split over `stride` threads. */
const shareOf = (n: number, stride: number, offset: number): number =>
  Math.floor(n / stride) + (offset < n % stride ? 1 : 0)

export class Engine {
  private readonly build: ReturnType<typeof requestBuilder>
  private readonly inFlight = new Set<InFlight>()
  /** Open loop with a cap: due sends waiting for a slot. */
  private readonly waiting: Array<{ readonly due: number; readonly claim: Claim }> = []
  private local = 0
  /** No further request will be claimed (the waiting ones still go). */
  private claimsDone = false
  private stopped = false
  private pacer: { cancel(): void } | null = null
  private rampTimer: NodeJS.Timeout | undefined
  /** `performance.now()` at which sending ends (duration after the warm-up), set at the first measured claim. */
  private endAt = Number.POSITIVE_INFINITY
  /** This thread's warm-up requests still to claim (`warmup: {requests}`), and measured ones. */
  private warmupLeft: number
  private measuredLeft: number
  private readonly warmupMs: number

  constructor(private readonly plan: EnginePlan, private readonly dispatcher: Dispatcher, private readonly sink: EngineSink) {
    const s = plan.settings
    this.build = requestBuilder(s, plan.model, plan.basePath, plan.runId)
    const warmup = s.warmup
    this.warmupLeft = warmup !== undefined && "requests" in warmup ? shareOf(warmup.requests, plan.stride, plan.offset) : 0
    this.warmupMs = warmup !== undefined && "seconds" in warmup ? warmup.seconds * 1000 : 0
    this.measuredLeft = s.requests === undefined ? Number.POSITIVE_INFINITY : shareOf(s.requests, plan.stride, plan.offset)
  }

  get active(): number {
    return this.inFlight.size
  }

  /** Starts at the plan's t = 0 (worker threads get a common start a little ahead). */
  start(): void {
    const load = this.plan.load
    if (load.kind === "open") return this.paceNext()
    this.pacer = waitUntil(this.plan.startAt, () => {
      this.pacer = null
      this.topUp()
      if (load.ramp !== null && !this.claimsDone) this.rampTimer = setInterval(() => this.topUp(), 5)
    })
  }

  /** Ends the run now: no more sends, in-flight requests are aborted with `reason`. */
  stop(reason: string): void {
    if (this.stopped) return
    this.stopped = true
    this.waiting.length = 0
    this.endClaims()
    for (const request of [...this.inFlight]) request.abort(reason)
    this.checkIdle()
  }

  private endClaims(): void {
    this.claimsDone = true
    this.pacer?.cancel()
    this.pacer = null
    if (this.rampTimer !== undefined) clearInterval(this.rampTimer)
    this.rampTimer = undefined
  }

  private checkIdle(): void {
    if (this.claimsDone && this.waiting.length === 0 && this.inFlight.size === 0) this.sink.onIdle()
  }

  /**
   * Takes the next request due at `at`: a warm-up one while the warm-up lasts (its requests, or its seconds
   * of the schedule), then a measured one; null (and no more claims) when this thread's share is spent or
   * the duration is over.
   */
  private claim(at: number): Claim | null {
    if (this.claimsDone || at >= this.endAt) return this.noMoreClaims()
    const warmup = this.warmupLeft > 0 || (this.warmupMs > 0 && at - this.plan.startAt < this.warmupMs)
    if (warmup) {
      if (this.warmupLeft > 0) this.warmupLeft--
    } else {
      if (this.measuredLeft <= 0) return this.noMoreClaims()
      this.measuredLeft--
      const duration = this.plan.settings.duration
      if (duration !== undefined && this.endAt === Number.POSITIVE_INFINITY) this.endAt = at + duration * 1000
    }
    const claim = { index: this.local++ * this.plan.stride + this.plan.offset, warmup }
    // the share is spent: end at once rather than at the next arrival
    if (this.measuredLeft === 0) this.endClaims()
    return claim
  }

  private noMoreClaims(): null {
    this.endClaims()
    return null
  }

  /**
   * Open loop: sends the arrivals already due in one loop (at most MAX_BURST, then a turn for I/O), then
   * waits for the next one. A run behind its schedule goes round the loop rather than nesting a call per
   * arrival, which overflowed the stack at a few thousand requests per second.
   */
  private paceNext(): void {
    const load = this.plan.load as Extract<Load, { kind: "open" }>
    for (let burst = 1; ; burst++) {
      const t = load.arrivals.next()
      const due = t === null ? Number.POSITIVE_INFINITY : this.plan.startAt + t * 1000
      if (t === null || due >= this.endAt) {
        this.endClaims()
        return this.checkIdle()
      }
      if (burst > MAX_BURST || due > performance.now()) {
        this.pacer = waitUntil(due, () => {
          this.pacer = null
          if (this.arrive(load, due)) this.paceNext()
        })
        return
      }
      if (!this.arrive(load, due)) return
    }
  }

  /** The arrival due at `due`: sent, or queued behind the cap; false when there are no more. */
  private arrive(load: Extract<Load, { kind: "open" }>, due: number): boolean {
    const claim = this.claim(due)
    if (claim === null) {
      this.checkIdle()
      return false
    }
    if (load.cap !== null && this.inFlight.size >= load.cap) this.waiting.push({ due, claim })
    else this.send(claim, due, performance.now() - due)
    if (this.claimsDone) {
      this.checkIdle()
      return false
    }
    return true
  }

  /** Closed loop: start requests until the target concurrency is in flight. */
  private topUp(): void {
    const load = this.plan.load as Extract<Load, { kind: "closed" }>
    const target = load.ramp === null ?
      load.concurrency :
      rampConcurrency(load.ramp.from, load.ramp.to, load.ramp.seconds * 1000, performance.now() - this.plan.startAt)
    while (this.inFlight.size < target) {
      const now = performance.now()
      const claim = this.claim(now)
      if (claim === null) return this.checkIdle()
      this.send(claim, now, null)
    }
  }

  private send(claim: Claim, intendedAt: number, lagMs: number | null): void {
    const request = new InFlight(this.build(claim.index, intendedAt, claim.warmup), this.sink, (record) => {
      this.inFlight.delete(request)
      this.sink.onRecord(record)
      this.afterRecord()
    })
    this.inFlight.add(request)
    this.sink.onSend(lagMs, claim.warmup)
    request.send(this.dispatcher)
  }

  private afterRecord(): void {
    const load = this.plan.load
    if (load.kind === "closed") {
      if (!this.claimsDone) this.topUp()
    } else if (this.waiting.length > 0 && (load.cap === null || this.inFlight.size < load.cap)) {
      const next = this.waiting.shift()!
      this.send(next.claim, next.due, null)
    }
    this.checkIdle()
  }
}
