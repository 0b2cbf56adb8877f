/**
 * From settings to what the engine does: the target's origin and base path, the load (open loop on an
 * arrival schedule, or closed loop), and one thread's share of it.
 */
import type { Load } from "./Engine.js"
import { everyNth, rampSecondsForRequests, rateArrivals } from "./Schedule.js"
import { rampKind, type RunSettings } from "./Settings.js"

export interface Target {
  readonly origin: string
  /** The base URL's path without a trailing slash, e.g. `/v1`. */
  readonly basePath: string
}

/**
 * Keep-alive connections, one request each at a time, as many as the load needs. undici's own header and
 * body timeouts (300 s) are off: the run's `timeout` bounds every request.
 */
export const poolOptions = { pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 } as const

export const targetOf = (baseUrl: string): Target => {
  const url = new URL(baseUrl)
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, "") }
}

/** The share of the load of thread `offset` out of `stride` (1 thread: the whole load). */
export const loadOf = (s: RunSettings, stride = 1, offset = 0): Load => {
  const kind = rampKind(s)
  const split = (n: number) => Math.floor(n / stride) + (offset < n % stride ? 1 : 0)
  if (kind === "concurrency") {
    const ramp = s.ramp!
    return {
      kind: "closed",
      concurrency: split(Math.max(ramp.from, ramp.to)),
      ramp: { from: ramp.from / stride, to: ramp.to / stride, seconds: s.duration! }
    }
  }
  if (kind === "rate" || s.rate !== undefined) {
    const ramp = s.ramp
    const warmupRequests = s.warmup !== undefined && "requests" in s.warmup ? s.warmup.requests : 0
    const rampSeconds = ramp === undefined ?
      0 :
      s.duration ?? rampSecondsForRequests(ramp.from, ramp.to, (s.requests ?? 0) + warmupRequests)
    // Every thread walks the same seeded schedule and takes every stride-th arrival of it.
    const arrivals = rateArrivals({
      rate: ramp?.to ?? s.rate!,
      burstiness: s.burstiness,
      interval: s.interval === true,
      ...(ramp === undefined ? {} : { ramp: { from: ramp.from, seconds: rampSeconds } }),
      seed: s.seed
    })
    const cap = s.concurrency === undefined ? null : Math.max(1, split(s.concurrency))
    return { kind: "open", arrivals: stride === 1 ? arrivals : everyNth(arrivals, stride, offset), cap }
  }
  return { kind: "closed", concurrency: Math.max(1, split(s.concurrency ?? 1)), ramp: null }
}
