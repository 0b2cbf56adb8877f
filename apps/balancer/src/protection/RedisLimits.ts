/**
 * Limits shared by every replica through Redis (LB_REDIS_URL, issue 14 item 4): the client tokens'
 * rpm/tpm limits and the admin rate limit are counted by atomic scripts (LimitScripts.ts) instead of
 * in this process. Without LB_REDIS_URL there is no store and nothing here runs.
 *
 * The request path makes one call (EVALSHA of the admission script; ioredis sends the script itself
 * once per connection and again after a NOSCRIPT, e.g. when Redis restarted) and, after the response,
 * one more to settle the real usage. Each call is bounded by LB_REDIS_TIMEOUT_MS, and with Redis
 * disconnected a call fails at once (no offline queue), so a request never waits on a dead Redis:
 * it meets LB_REDIS_FAILURE instead (open: admitted, closed: 503), with a warning at most every
 * few seconds and `lb_redis_failures_total` counting each failed call. ioredis reconnects by itself.
 */
import { Effect, Option, Redacted, Runtime } from "effect"
import { Redis, type Result } from "ioredis"
import * as Prom from "prom-client"
import { LbConfig } from "../Config.js"
import { Metrics } from "../observability/Metrics.js"
import { ADMIT, SETTLE } from "./LimitScripts.js"

/**
 * The admission script's answer: refused by (0 = admitted, +1 rpm, +2 tpm), the Redis second it was counted in, requests used and
 * ms until one more fits, tokens used (real + held) and ms until one more fits, ms a refused request
 * should wait, tokens held.
 */
export type AdmitAnswer = [number, number, number, number, number, number, number, number]

declare module "ioredis" {
  interface RedisCommander<Context> {
    lbAdmit(requests: string, tokens: string, held: string, rpm: number, tpm: number, estimate: number): Result<AdmitAnswer, Context>
    lbSettle(tokens: string, held: string, second: number, hold: number, used: number): Result<number, Context>
  }
}

/** The three hashes of one limited key, under one hash tag (one slot in a Redis Cluster). */
export interface LimitKeys {
  readonly requests: string
  readonly tokens: string
  readonly held: string
}

export const limitKeys = (key: string): LimitKeys => {
  const base = `llmlb:limit:{${key}}:`
  return { requests: `${base}requests`, tokens: `${base}tokens`, held: `${base}held` }
}

/** What a failed call is, as the metric's `operation` label. */
type Operation = "admit" | "settle" | "admin"

/** At most one warning this often while Redis keeps failing. */
const WARN_EVERY_MS = 10_000
/** How long start-up waits for Redis before going on without it (the failure policy applies meanwhile). */
const CONNECT_WAIT = "3 seconds"

export interface SharedStore {
  readonly policy: "open" | "closed"
  /** Counts a request against the limits (-1 = none) in one call; undefined when Redis failed. */
  readonly admit: (keys: LimitKeys, rpm: number, tpm: number, estimate: number) => Promise<AdmitAnswer | undefined>
  /** Gives a request's hold back and counts its real usage; failures are counted, nobody waits on it. */
  readonly settle: (keys: LimitKeys, second: number, hold: number, used: number) => void
  /** One request of a per-minute limit: 0 when it fits (counted), else ms to wait; undefined when Redis failed. */
  readonly take: (keys: LimitKeys, rpm: number) => Promise<number | undefined>
}

export class RedisLimits extends Effect.Service<RedisLimits>()("RedisLimits", {
  scoped: Effect.gen(function*() {
    const config = yield* LbConfig
    const metrics = yield* Metrics
    if (Option.isNone(config.redisUrl)) return { shared: undefined as SharedStore | undefined }
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const policy = config.redisFailure

    const failures = new Prom.Counter({
      name: "lb_redis_failures_total",
      help: `Redis calls for shared limits that failed or timed out (LB_REDIS_FAILURE=${policy} applied)`,
      labelNames: ["operation"],
      registers: [metrics.registry]
    })
    const failuresOf = {
      admit: failures.labels("admit"),
      settle: failures.labels("settle"),
      admin: failures.labels("admin")
    }

    let lastWarning = -Infinity
    let unreported = 0
    let down = false
    const failed = (operation: Operation, error: unknown) => {
      failuresOf[operation].inc()
      down = true
      unreported++
      const now = Date.now()
      if (now - lastWarning < WARN_EVERY_MS) return
      const message = error instanceof Error ? error.message : String(error)
      const effect = (policy === "open" ? "client requests that need a limit are admitted without one" : "client requests that need a limit get 503") +
        ", the admin rate limit is counted by each replica alone"
      runFork(Effect.logWarning(
        `Redis unreachable for shared limits (${message}); ${unreported} failed calls since the last warning; ${effect} (LB_REDIS_FAILURE=${policy})`
      ))
      lastWarning = now
      unreported = 0
    }

    const client = new Redis(Redacted.value(config.redisUrl.value), {
      // A dead Redis fails a call at once instead of queueing it; a slow one within the timeout.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: config.redisTimeoutMs,
      connectTimeout: Math.max(1_000, config.redisTimeoutMs),
      // Keep reconnecting, at least every half second, for as long as it takes.
      retryStrategy: (attempt) => Math.min(attempt * 50, 500),
      scripts: {
        lbAdmit: { lua: ADMIT, numberOfKeys: 3 },
        lbSettle: { lua: SETTLE, numberOfKeys: 2 }
      }
    })
    // Connection errors come as events too; each call that fails is counted where it fails.
    client.on("error", () => {})
    client.on("ready", () => {
      if (down) runFork(Effect.logInfo("Redis reachable again: shared limits are counted again"))
      down = false
    })
    yield* Effect.addFinalizer(() =>
      Effect.tryPromise(() => client.quit()).pipe(
        Effect.timeout("1 second"),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => client.disconnect()))
      )
    )

    const ready = yield* Effect.async<void>((resume) => {
      if (client.status === "ready") return resume(Effect.void)
      const onReady = () => resume(Effect.void)
      client.once("ready", onReady)
      return Effect.sync(() => client.off("ready", onReady))
    }).pipe(Effect.timeoutOption(CONNECT_WAIT))
    if (Option.isNone(ready)) {
      yield* Effect.logWarning(`Redis (LB_REDIS_URL) not reachable within ${CONNECT_WAIT}: starting anyway, LB_REDIS_FAILURE=${policy} applies until it is`)
    }

    const admitFailed = (error: unknown) => {
      failed("admit", error)
      return undefined
    }
    const takeFailed = (error: unknown) => {
      failed("admin", error)
      return undefined
    }
    const settleFailed = (error: unknown) => failed("settle", error)

    const shared: SharedStore = {
      policy,
      admit: (keys, rpm, tpm, estimate) =>
        client.lbAdmit(keys.requests, keys.tokens, keys.held, rpm, tpm, Math.ceil(estimate)).catch(admitFailed),
      settle: (keys, second, hold, used) => {
        client.lbSettle(keys.tokens, keys.held, second, hold, Math.ceil(used)).catch(settleFailed)
      },
      take: (keys, rpm) =>
        client.lbAdmit(keys.requests, keys.tokens, keys.held, rpm, -1, 0).then(
          (answer) => (answer[0] === 0 ? 0 : Math.max(1, answer[6])),
          takeFailed
        )
    }
    return { shared: shared as SharedStore | undefined }
  })
}) {}
