/**
 * Requests-per-minute and tokens-per-minute limits over a sliding minute, reported the way OpenAI
 * does in `x-ratelimit-*` headers.
 */
import { SlidingWindow } from "./SlidingWindow.js"

/** A duration as OpenAI writes it in `x-ratelimit-reset-*`: `250ms`, `1s`, `6m0s`, `1h2m3s`. */
export const formatResetDuration = (ms: number): string => {
  if (ms <= 0) return "0s"
  if (ms < 1000) return `${Math.ceil(ms)}ms`
  const total = Math.ceil(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (h > 0) return `${h}h${m}m${s}s`
  if (m > 0) return `${m}m${s}s`
  return `${s}s`
}

/** One limit (requests or tokens per minute) over 1-second buckets of the last 60 seconds. */
export class MinuteLimit {
  constructor(readonly limit: number, private readonly window = new SlidingWindow(60)) {}

  /** The same minute under another limit: what was used in it still counts. */
  withLimit(limit: number): MinuteLimit {
    return new MinuteLimit(limit, this.window)
  }

  used(now: number): number {
    return this.window.sum(now)
  }

  remaining(now: number): number {
    return Math.max(0, this.limit - this.used(now))
  }

  /** Whether `amount` more fits in the current minute. */
  allows(now: number, amount = 1): boolean {
    return this.used(now) + amount <= this.limit
  }

  add(now: number, amount: number): void {
    this.window.add(now, amount)
  }

  /**
   * Milliseconds until enough of the window has slid out for the limit to allow another unit
   * (0 when it allows one now): the earliest time whose expiring buckets free enough room.
   */
  resetMs(now: number): number {
    return this.window.msUntilBelow(now, this.limit)
  }
}
