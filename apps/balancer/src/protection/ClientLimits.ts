/**
 * A client token's requests- and tokens-per-minute limits over a sliding minute (DESIGN.md "Admin and
 * security"), reported in OpenAI's `x-ratelimit-*` headers. A request is refused when it would exceed
 * the rpm limit, or when its token estimate (prompt estimate + the completion it allows) does not fit
 * beside what the minute counted and what the token's requests in flight hold. An admitted request
 * holds its estimate until it ends; then its real usage counts instead, and the rest is free again
 * (all of it when it failed). Unlimited clients have no limits at all, so they cost nothing here.
 *
 * Two implementations of {@link Limits}: {@link ClientLimits} counts in this process (synchronously),
 * SharedClientLimits (SharedLimits.ts) in Redis for every replica at once (a Promise).
 */
import { formatResetDuration, MinuteLimit, TokenLimit } from "@llmlb/core"
import type { ServerResponse } from "node:http"

/** Why a request may not run now, and what the client gets instead. */
export class LimitRefusal {
  constructor(
    readonly status: 429 | 503,
    readonly type: "rate_limit_error" | "api_error",
    readonly code: string,
    readonly message: string,
    /** Whole seconds, at least 1: when the request may be tried again. */
    readonly retryAfterSeconds: number
  ) {}
}

/** What an admitted request holds until {@link Limits.settle}; opaque to the data plane. */
export type Hold = number | { readonly second: number; readonly tokens: number }

/** A limited client's admission and settlement. */
export interface Limits {
  /**
   * Counts a request and holds its token estimate, or refuses it (counting and holding nothing). Sets
   * the `x-ratelimit-*` headers of the limits there are either way, so that they go out with whatever
   * answers the request. Synchronous in this process; a Promise (never rejected) when shared.
   */
  admit(res: ServerResponse, now: number, estimate: number): Hold | LimitRefusal | Promise<Hold | LimitRefusal>
  /** Ends an admitted request: `tokens` (prompt + completion) count in the minute instead of what it held. */
  settle(now: number, held: Hold, tokens: number): void
}

/** One limit's state as the headers and refusal messages show it. */
export interface LimitReading {
  readonly limit: number
  readonly used: number
  /** Milliseconds until one more unit fits. */
  readonly resetMs: number
}

export const setLimitHeaders = (res: ServerResponse, kind: "requests" | "tokens", reading: LimitReading) => {
  res.setHeader(`x-ratelimit-limit-${kind}`, String(reading.limit))
  res.setHeader(`x-ratelimit-remaining-${kind}`, String(Math.max(0, reading.limit - reading.used)))
  res.setHeader(`x-ratelimit-reset-${kind}`, formatResetDuration(reading.resetMs))
}

const describe = (kind: string, reading: LimitReading, requested: string) =>
  `Rate limit reached for ${kind} per minute of this client token (limit ${reading.limit}, used ${reading.used}${requested}).`

/** The 429 of a request over its limits; `rpm` / `tpm` are given when that limit is the one exceeded. */
export const rateLimited = (
  rpm: LimitReading | undefined,
  tpm: LimitReading | undefined,
  estimate: number,
  waitMs: number
): LimitRefusal => {
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000))
  const reasons = [
    rpm === undefined ? "" : describe("requests", rpm, ""),
    tpm === undefined ? "" : describe("tokens", tpm, `, requested ${estimate}`)
  ]
  return new LimitRefusal(
    429,
    "rate_limit_error",
    "rate_limit_exceeded",
    `${reasons.join(" ").trim()} Please try again in ${retryAfterSeconds}s.`,
    retryAfterSeconds
  )
}

const readingOf = (limit: MinuteLimit | TokenLimit, now: number): LimitReading => ({
  limit: limit.limit,
  used: limit.used(now),
  resetMs: limit.resetMs(now)
})

/** Limits counted in this process: what one replica alone, or every process without Redis, uses. */
export class ClientLimits implements Limits {
  private constructor(readonly rpm: MinuteLimit | undefined, readonly tpm: TokenLimit | undefined) {}

  /**
   * The limits of a token's settings, undefined for none. The windows of `previous` carry over, and
   * so do the holds of its requests in flight, so a changed limit still counts what was used in the
   * last minute.
   */
  static of(rpmLimit: number | null, tpmLimit: number | null, previous: Limits | undefined): ClientLimits | undefined {
    if (rpmLimit === null && tpmLimit === null) return undefined
    const before = previous instanceof ClientLimits ? previous : undefined
    return new ClientLimits(
      rpmLimit === null ? undefined : before?.rpm?.withLimit(rpmLimit) ?? new MinuteLimit(rpmLimit),
      tpmLimit === null ? undefined : before?.tpm?.withLimit(tpmLimit) ?? new TokenLimit(tpmLimit)
    )
  }

  /** Answers the tokens held (a number), or the refusal. */
  admit(res: ServerResponse, now: number, estimate: number): number | LimitRefusal {
    const { rpm, tpm } = this
    const rpmFull = rpm !== undefined && !rpm.allows(now)
    const tpmFull = tpm !== undefined && !tpm.allows(now, estimate)
    // Read before counting: a refusal's message says what was used without it.
    const refused = rpmFull || tpmFull
      ? rateLimited(
        rpmFull ? readingOf(rpm, now) : undefined,
        tpmFull ? readingOf(tpm, now) : undefined,
        estimate,
        Math.max(rpmFull ? rpm.resetMs(now) : 0, tpmFull ? tpm.waitMs(now, estimate) : 0)
      )
      : undefined
    let held = 0
    if (refused === undefined) {
      rpm?.add(now, 1)
      if (tpm !== undefined) held = tpm.reserve(estimate)
    }
    if (rpm !== undefined) setLimitHeaders(res, "requests", readingOf(rpm, now))
    if (tpm !== undefined) setLimitHeaders(res, "tokens", readingOf(tpm, now))
    return refused ?? held
  }

  settle(now: number, held: Hold, tokens: number): void {
    if (typeof held === "number") this.tpm?.settle(now, held, tokens)
  }
}
