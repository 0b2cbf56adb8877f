/**
 * A client token's requests- and tokens-per-minute limits over a sliding minute (DESIGN.md "Admin and
 * security"), reported in OpenAI's `x-ratelimit-*` headers. A request is refused when it would exceed
 * the rpm limit, or when its token estimate (prompt estimate + the completion it allows) does not fit
 * beside what the minute counted and what the token's requests in flight hold. An admitted request
 * holds its estimate until it ends; then its real usage counts instead, and the rest is free again
 * (all of it when it failed). Unlimited clients have no ClientLimits at all, so they cost nothing here.
 */
import { formatResetDuration, MinuteLimit, TokenLimit } from "@llmlb/core"
import type { ServerResponse } from "node:http"

export interface LimitRefusal {
  readonly message: string
  /** Whole seconds, at least 1: when the exceeded limit allows the request again. */
  readonly retryAfterSeconds: number
}

type Limit = MinuteLimit | TokenLimit

const setHeaders = (res: ServerResponse, kind: "requests" | "tokens", limit: Limit, now: number) => {
  res.setHeader(`x-ratelimit-limit-${kind}`, String(limit.limit))
  res.setHeader(`x-ratelimit-remaining-${kind}`, String(limit.remaining(now)))
  res.setHeader(`x-ratelimit-reset-${kind}`, formatResetDuration(limit.resetMs(now)))
}

const describe = (kind: string, limit: Limit, now: number, requested: string) =>
  `Rate limit reached for ${kind} per minute of this client token (limit ${limit.limit}, used ${limit.used(now)}${requested}).`

export class ClientLimits {
  private constructor(readonly rpm: MinuteLimit | undefined, readonly tpm: TokenLimit | undefined) {}

  /**
   * The limits of a token's settings, undefined for none. The windows of `previous` carry over, and
   * so do the holds of its requests in flight, so a changed limit still counts what was used in the
   * last minute.
   */
  static of(rpmLimit: number | null, tpmLimit: number | null, previous: ClientLimits | undefined): ClientLimits | undefined {
    if (rpmLimit === null && tpmLimit === null) return undefined
    return new ClientLimits(
      rpmLimit === null ? undefined : previous?.rpm?.withLimit(rpmLimit) ?? new MinuteLimit(rpmLimit),
      tpmLimit === null ? undefined : previous?.tpm?.withLimit(tpmLimit) ?? new TokenLimit(tpmLimit)
    )
  }

  /**
   * Counts a request and holds its token estimate, answering the tokens held (give them back with
   * {@link settle} when it ends); or refuses it, counting and holding nothing. Sets the
   * `x-ratelimit-*` headers of the limits there are either way, so that they go out with whatever
   * answers the request.
   */
  admit(res: ServerResponse, now: number, estimate: number): number | LimitRefusal {
    const { rpm, tpm } = this
    const rpmFull = rpm !== undefined && !rpm.allows(now)
    const tpmFull = tpm !== undefined && !tpm.allows(now, estimate)
    let held = 0
    if (!rpmFull && !tpmFull) {
      rpm?.add(now, 1)
      if (tpm !== undefined) held = tpm.reserve(estimate)
    }
    if (rpm !== undefined) setHeaders(res, "requests", rpm, now)
    if (tpm !== undefined) setHeaders(res, "tokens", tpm, now)
    if (!rpmFull && !tpmFull) return held
    const waitMs = Math.max(rpmFull ? rpm.resetMs(now) : 0, tpmFull ? tpm.waitMs(now, estimate) : 0)
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000))
    const reasons = [
      rpmFull ? describe("requests", rpm, now, "") : "",
      tpmFull ? describe("tokens", tpm, now, `, requested ${estimate}`) : ""
    ]
    return { message: `${reasons.join(" ").trim()} Please try again in ${retryAfterSeconds}s.`, retryAfterSeconds }
  }

  /** Ends an admitted request: `tokens` (prompt + completion) count in the minute instead of what it held. */
  settle(now: number, held: number, tokens: number): void {
    this.tpm?.settle(now, held, tokens)
  }
}
