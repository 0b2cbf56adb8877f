/**
 * A client token's requests- and tokens-per-minute limits over a sliding minute (DESIGN.md "Admin and
 * security"), reported in OpenAI's `x-ratelimit-*` headers. A request is refused when it would exceed
 * the rpm limit or when the tpm window is already at its limit; tokens are counted after each request,
 * from its real usage. Unlimited clients have no ClientLimits at all, so they cost nothing here.
 */
import { formatResetDuration, MinuteLimit } from "@llmlb/core"
import type { ServerResponse } from "node:http"

export interface LimitRefusal {
  readonly message: string
  /** Whole seconds, at least 1: when the exceeded limit allows the request again. */
  readonly retryAfterSeconds: number
}

const setHeaders = (res: ServerResponse, kind: "requests" | "tokens", limit: MinuteLimit, now: number) => {
  res.setHeader(`x-ratelimit-limit-${kind}`, String(limit.limit))
  res.setHeader(`x-ratelimit-remaining-${kind}`, String(limit.remaining(now)))
  res.setHeader(`x-ratelimit-reset-${kind}`, formatResetDuration(limit.resetMs(now)))
}

const describe = (kind: string, limit: MinuteLimit, now: number) =>
  `Rate limit reached for ${kind} per minute of this client token (limit ${limit.limit}, used ${limit.used(now)}).`

export class ClientLimits {
  private constructor(readonly rpm: MinuteLimit | undefined, readonly tpm: MinuteLimit | undefined) {}

  /**
   * The limits of a token's settings, undefined for none. The windows of `previous` carry over, so a
   * changed limit still counts what was used in the last minute.
   */
  static of(rpmLimit: number | null, tpmLimit: number | null, previous: ClientLimits | undefined): ClientLimits | undefined {
    if (rpmLimit === null && tpmLimit === null) return undefined
    const carry = (limit: number | null, window: MinuteLimit | undefined) =>
      limit === null ? undefined : window?.withLimit(limit) ?? new MinuteLimit(limit)
    return new ClientLimits(carry(rpmLimit, previous?.rpm), carry(tpmLimit, previous?.tpm))
  }

  /**
   * Counts a request, or refuses it (counting nothing); sets the `x-ratelimit-*` headers of the limits
   * there are either way, so that they go out with whatever answers the request.
   */
  admit(res: ServerResponse, now: number): LimitRefusal | undefined {
    const { rpm, tpm } = this
    const rpmFull = rpm !== undefined && !rpm.allows(now)
    const tpmFull = tpm !== undefined && !tpm.allows(now)
    if (!rpmFull && !tpmFull) rpm?.add(now, 1)
    if (rpm !== undefined) setHeaders(res, "requests", rpm, now)
    if (tpm !== undefined) setHeaders(res, "tokens", tpm, now)
    if (!rpmFull && !tpmFull) return undefined
    const waitMs = Math.max(rpmFull ? rpm.resetMs(now) : 0, tpmFull ? tpm.resetMs(now) : 0)
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000))
    const reasons = [rpmFull ? describe("requests", rpm, now) : "", tpmFull ? describe("tokens", tpm, now) : ""]
    return { message: `${reasons.join(" ").trim()} Please try again in ${retryAfterSeconds}s.`, retryAfterSeconds }
  }

  /** Counts the tokens (prompt + completion) a request used, once it has its answer. */
  record(now: number, tokens: number): void {
    this.tpm?.add(now, tokens)
  }
}
