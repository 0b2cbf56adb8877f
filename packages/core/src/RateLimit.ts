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

/** What a tokens-per-minute limit and the limits that replace it when it changes share. */
class TokenLedger {
  /** Real usage of the requests that ended, by the second they ended in. */
  readonly window = new SlidingWindow(60)
  /** What the requests in flight hold. */
  reserved = 0
}

/**
 * A tokens-per-minute limit that holds each request's estimate (prompt estimate + the completion it
 * allows) from its admission to its end, then counts its real usage instead. Requests running at once
 * therefore see each other: admitted estimates never sum past the limit, and what is counted can
 * exceed it only by how far real usage exceeded the estimates. A request estimated above the whole
 * limit holds the whole limit: it runs alone, when nothing else is counted, rather than never.
 */
export class TokenLimit {
  constructor(readonly limit: number, private readonly ledger = new TokenLedger()) {}

  /** The same minute and requests in flight under another limit. */
  withLimit(limit: number): TokenLimit {
    return new TokenLimit(limit, this.ledger)
  }

  /** Counted in the minute plus held by the requests in flight. */
  used(now: number): number {
    return this.ledger.window.sum(now) + this.ledger.reserved
  }

  remaining(now: number): number {
    return Math.max(0, this.limit - this.used(now))
  }

  /** What a request of this estimate holds while it runs: at least a token, so a full minute refuses every request. */
  holding(estimate: number): number {
    return Math.min(Math.max(1, estimate), this.limit)
  }

  /** Whether a request of this estimate may start now. */
  allows(now: number, estimate: number): boolean {
    return this.used(now) + this.holding(estimate) <= this.limit
  }

  /** Holds a request's estimate; answers what it holds, which {@link settle} gives back. */
  reserve(estimate: number): number {
    const held = this.holding(estimate)
    this.ledger.reserved += held
    return held
  }

  /** Ends a request that held `held`: its real usage counts in the minute from `now`, the rest is free again. */
  settle(now: number, held: number, used: number): void {
    this.ledger.reserved -= held
    if (used > 0) this.ledger.window.add(now, used)
  }

  /**
   * Milliseconds until enough of the minute has slid out for one more token to fit (0 when one fits
   * now), as in OpenAI's `x-ratelimit-reset-tokens`.
   */
  resetMs(now: number): number {
    return this.waitMs(now, 1)
  }

  /**
   * Milliseconds until a request of this estimate fits, if the requests in flight used nothing more:
   * how long a refused request should wait. When they alone leave no room, it is at least a second
   * (they free their hold as they end, which the minute cannot foresee).
   */
  waitMs(now: number, estimate: number): number {
    const { reserved, window } = this.ledger
    const room = this.limit - this.holding(estimate)
    if (reserved <= room) return window.msUntilBelow(now, room - reserved + 1)
    return Math.max(1000, window.msUntilBelow(now, room + 1))
  }
}
