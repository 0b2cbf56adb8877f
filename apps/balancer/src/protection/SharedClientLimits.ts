/**
 * A client token's rpm/tpm limits counted in Redis for every replica (see RedisLimits.ts): the same
 * admission, headers and refusals as ClientLimits, answered by one atomic script instead of this
 * process's windows. Its admission is a Promise that never rejects: when Redis fails, LB_REDIS_FAILURE
 * decides (open: admitted without counting, closed: 503 `api_error`).
 */
import type { ServerResponse } from "node:http"
import { type Hold, LimitRefusal, type Limits, rateLimited, setLimitHeaders } from "./ClientLimits.js"
import { type AdmitAnswer, limitKeys, type LimitKeys, type SharedStore } from "./RedisLimits.js"

const UNAVAILABLE = new LimitRefusal(
  503,
  "api_error",
  "rate_limit_unavailable",
  "The rate limits of this client token cannot be checked: the shared limit store (Redis) is unreachable. Please try again shortly.",
  1
)

export class SharedClientLimits implements Limits {
  private readonly keys: LimitKeys

  private constructor(
    private readonly store: SharedStore,
    clientId: string,
    private readonly rpm: number | null,
    private readonly tpm: number | null
  ) {
    this.keys = limitKeys(clientId)
  }

  /** The limits of a token's settings, undefined for none; the counts live in Redis, so a changed limit keeps them. */
  static of(store: SharedStore, clientId: string, rpmLimit: number | null, tpmLimit: number | null): SharedClientLimits | undefined {
    return rpmLimit === null && tpmLimit === null ? undefined : new SharedClientLimits(store, clientId, rpmLimit, tpmLimit)
  }

  admit(res: ServerResponse, _now: number, estimate: number): Promise<Hold | LimitRefusal> {
    return this.store.admit(this.keys, this.rpm ?? -1, this.tpm ?? -1, estimate).then((answer) =>
      answer === undefined ? (this.store.policy === "open" ? 0 : UNAVAILABLE) : this.answer(res, estimate, answer)
    )
  }

  private answer(res: ServerResponse, estimate: number, answer: AdmitAnswer): Hold | LimitRefusal {
    const [refusedBy, second, requestsUsed, requestsResetMs, tokensUsed, tokensResetMs, waitMs, held] = answer
    const requests = this.rpm === null ? undefined : { limit: this.rpm, used: requestsUsed, resetMs: requestsResetMs }
    const tokens = this.tpm === null ? undefined : { limit: this.tpm, used: tokensUsed, resetMs: tokensResetMs }
    if (requests !== undefined) setLimitHeaders(res, "requests", requests)
    if (tokens !== undefined) setLimitHeaders(res, "tokens", tokens)
    if (refusedBy === 0) return tokens === undefined ? 0 : { second, tokens: held }
    return rateLimited((refusedBy & 1) === 0 ? undefined : requests, (refusedBy & 2) === 0 ? undefined : tokens, estimate, waitMs)
  }

  settle(_now: number, held: Hold, tokens: number): void {
    // A number: nothing held in Redis (no tpm limit, or admitted while Redis failed).
    if (typeof held !== "number") this.store.settle(this.keys, held.second, held.tokens, tokens)
  }
}
