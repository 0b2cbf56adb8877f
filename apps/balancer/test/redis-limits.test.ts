/**
 * Client limits and the admin rate limit shared by several replicas through Redis (issue 14 items 4
 * and 7): balancers on one real PostgreSQL and one real Redis, both started by the test. Each test
 * takes a Redis database of its own, so that counts of one (the admin limit's address is always
 * 127.0.0.1) never meet another's.
 */
import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { Redis as RedisClient } from "ioredis"
import { afterAll, beforeAll } from "vitest"
import { type Balancer, startBalancer } from "./support/Balancer.js"
import { type Postgres, type Redis, startPostgres, startRedis } from "./support/Engines.js"
import { type BalancerProcess, processCaller, spawnBalancer } from "./support/Process.js"
import { generations } from "./support/Sims.js"
import { within } from "./support/within.js"

let postgres: Postgres
let redis: Redis
beforeAll(async () => {
  ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
}, 60_000)
afterAll(async () => {
  postgres?.stop()
  await redis?.close()
})

let databases = 0
/** Redis database 1..15, one per test. */
const nextRedisDb = () => 1 + (databases++ % 15)

/**
 * `count` balancers on a fresh PostgreSQL database and one Redis database. A timeout far above a
 * loaded machine's worst call: the exact counts below must not meet the failure policy by accident.
 */
const replicas = (count: number, env: Record<string, string> = {}, perReplica: Array<Record<string, string>> = []) =>
  Effect.gen(function*() {
    const url = postgres.createDatabase()
    const db = nextRedisDb()
    const started: Array<Balancer> = []
    for (let i = 0; i < count; i++) {
      started.push(yield* startBalancer({
        LB_DATABASE_URL: url,
        LB_REDIS_URL: redis.url(db),
        LB_REDIS_TIMEOUT_MS: "5000",
        LB_REPLICA_ID: `r${i}`,
        LB_CONFIG_RELOAD_SECONDS: "60",
        ...env,
        ...perReplica[i]
      }))
    }
    return { replicas: started, db }
  })

/** A Redis client of the test's own, to look at what the balancers stored; closed with the scope. */
const inspector = (db: number) =>
  Effect.acquireRelease(
    Effect.sync(() => new RedisClient(redis.url(db), { lazyConnect: false })),
    (client) => Effect.promise(() => client.quit().catch(() => "closed"))
  )

/** 39 characters: estimated at 10 prompt tokens; the simulator counts 10. */
const PROMPT = Array.from({ length: 10 }, () => "abc").join(" ")

const chat = (lb: Balancer, token: string, maxTokens = 2) =>
  lb.fetch("POST", "/v1/chat/completions", {
    body: { model: "m1", messages: [{ role: "user", content: PROMPT }], max_tokens: maxTokens },
    headers: { authorization: `Bearer ${token}` }
  })

/** An endpoint and a token with these limits, created through the first replica and known to all. */
const setup = (all: ReadonlyArray<Balancer>, sim: Parameters<typeof simScoped>[0], limits: Record<string, number>) =>
  Effect.gen(function*() {
    const upstream = yield* simScoped(sim)
    const first = all[0]!
    expect((yield* first.admin("POST", "/endpoints", { name: "e", base_url: upstream.baseUrl, connected: true })).status).toBe(201)
    const created = yield* first.admin("POST", "/tokens", { name: "limited", ...limits })
    expect(created.status).toBe(201)
    // Known everywhere once each replica has the endpoint and the token.
    for (const lb of all) {
      yield* within(5_000, Effect.map(lb.admin("GET", "/tokens"), (r) => r.body.length === 1))
      yield* within(5_000, Effect.map(lb.admin("GET", "/state"), (r) => r.body.endpoints.length === 1))
    }
    return { upstream, token: created.body.token as string, id: created.body.id as string }
  })

const failureCount = (lb: Balancer, operation: string) =>
  Effect.map(lb.fetch("GET", "/metrics"), (r) => {
    const line = (r.body as string).split("\n").find((l) => l.startsWith("lb_redis_failures_total{") && l.includes(`operation="${operation}"`))
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1))
  })

describe("limits shared through Redis", () => {
  it.scopedLive("an rpm limit of 10 across three replicas lets exactly 10 of 30 concurrent requests through", () =>
    Effect.gen(function*() {
      const { replicas: all } = yield* replicas(3)
      const { token, upstream } = yield* setup(all, { models: ["m1"], outputTokens: 2 }, { rpm_limit: 10 })
      // 30 at once, spread round-robin over the three.
      const answers = yield* Effect.all(Array.from({ length: 30 }, (_, i) => chat(all[i % 3]!, token)), { concurrency: 30 })
      const statuses = answers.map((r) => r.status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(10)
      expect(statuses.filter((s) => s === 429)).toHaveLength(20)
      expect(generations(upstream)).toBe(10)
      // Each admitted one saw its own place in the shared count: remaining 9 down to 0, once each.
      const remaining = answers.filter((r) => r.status === 200).map((r) => Number(r.headers.get("x-ratelimit-remaining-requests")))
      expect(remaining.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      for (const refused of answers.filter((r) => r.status === 429)) {
        expect([refused.body.error.type, refused.body.error.code]).toEqual(["rate_limit_error", "rate_limit_exceeded"])
        expect(refused.body.error.message).toContain("requests per minute of this client token (limit 10, used 10)")
        expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0")
        const retryAfter = Number(refused.headers.get("retry-after"))
        expect(retryAfter >= 1 && retryAfter <= 60).toBe(true)
      }
      // Later requests through any replica are refused too, within the minute.
      for (const lb of all) expect((yield* chat(lb, token)).status).toBe(429)
    }), 120_000)

  it.scopedLive("a tpm limit is not overshot by concurrent requests across replicas", () =>
    Effect.gen(function*() {
      const { replicas: all } = yield* replicas(3)
      // Slow enough that every admitted request is still in flight when the last one arrives.
      const { token, upstream } = yield* setup(all, { models: ["m1"], outputTokens: 97, ttftMs: 2_000 }, { tpm_limit: 500 })
      // Each estimated at 10 + 100 = 110: at most four fit in 500, whichever replicas they reach.
      const answers = yield* Effect.all(Array.from({ length: 12 }, (_, i) => chat(all[i % 3]!, token, 100)), { concurrency: 12 })
      const admitted = answers.filter((r) => r.status === 200)
      expect(admitted).toHaveLength(4)
      expect(answers.filter((r) => r.status === 429)).toHaveLength(8)
      expect(generations(upstream)).toBe(4)
      expect(admitted.length * 110).toBeLessThanOrEqual(500)
      expect(admitted.map((r) => Number(r.headers.get("x-ratelimit-remaining-tokens"))).sort((a, b) => b - a)).toEqual([390, 280, 170, 60])
      // What they really used (10 + 97 each) stays within the limit too.
      expect(admitted.reduce((sum, r) => sum + r.body.usage.total_tokens, 0)).toBe(4 * 107)
    }), 120_000)

  it.scopedLive("real usage below the estimate gives the difference back, on every replica, in one call per admission", () =>
    Effect.gen(function*() {
      const { replicas: [a, b], db } = yield* replicas(2)
      const { token } = yield* setup([a!, b!], { models: ["m1"], outputTokens: 5 }, { tpm_limit: 1000 })
      const redisClient = yield* inspector(db)
      const scriptCalls = Effect.promise(async () => {
        const stats = await redisClient.info("commandstats")
        return [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
      })
      // Nothing held any more: every request's hold was settled.
      const settled = Effect.promise(async () => {
        const keys = await redisClient.keys("llmlb:limit:*:held")
        const holds = await Promise.all(keys.map((key) => redisClient.hlen(key)))
        return holds.every((n) => n === 0)
      })
      const before = yield* scriptCalls

      // Estimated 10 + 100 = 110 while it runs; it really uses 10 + 5 = 15.
      const first = yield* chat(a!, token, 100)
      expect([first.status, first.headers.get("x-ratelimit-remaining-tokens")]).toEqual([200, "890"])
      expect(first.body.usage.total_tokens).toBe(15)
      yield* within(5_000, settled)
      // Through B: 1000 - 15 used - 110 held by itself, not 1000 - 110 - 110.
      const second = yield* chat(b!, token, 100)
      expect([second.status, second.headers.get("x-ratelimit-remaining-tokens")]).toEqual([200, "875"])
      yield* within(5_000, settled)
      const third = yield* chat(a!, token, 100)
      expect([third.status, third.headers.get("x-ratelimit-remaining-tokens")]).toEqual([200, "860"])
      yield* within(5_000, settled)
      // One script call to admit each request and one to settle it, nothing more.
      expect((yield* scriptCalls) - before).toBe(6)
    }), 120_000)

  it.scopedLive("Redis stopped: open admits and counts the failures, closed answers 503 at once; back, the limits hold again", () =>
    Effect.gen(function*() {
      const { replicas: [open, closed] } = yield* replicas(2, {}, [{ LB_REDIS_FAILURE: "open" }, { LB_REDIS_FAILURE: "closed" }])
      const { token } = yield* setup([open!, closed!], { models: ["m1"], outputTokens: 2 }, { rpm_limit: 2 })
      const free = (yield* open!.admin("POST", "/tokens", { name: "unlimited" })).body.token as string
      yield* within(5_000, Effect.map(chat(closed!, free), (r) => r.status === 200))
      expect((yield* chat(open!, token)).status).toBe(200)
      expect((yield* chat(closed!, token)).status).toBe(200)
      expect((yield* chat(open!, token)).status).toBe(429)

      yield* Effect.promise(() => redis.stop())
      try {
        for (let i = 0; i < 5; i++) expect((yield* chat(open!, token)).status).toBe(200)
        expect(yield* failureCount(open!, "admit")).toBeGreaterThanOrEqual(5)
        for (let i = 0; i < 5; i++) {
          const start = performance.now()
          const refused = yield* chat(closed!, token)
          expect(performance.now() - start).toBeLessThan(1_000)
          expect(refused.status).toBe(503)
          expect([refused.body.error.type, refused.body.error.code]).toEqual(["api_error", "rate_limit_unavailable"])
          expect(refused.headers.get("retry-after")).toBe("1")
        }
        expect(yield* failureCount(closed!, "admit")).toBeGreaterThanOrEqual(5)
        // A token without limits needs no Redis.
        expect((yield* chat(closed!, free)).status).toBe(200)
      } finally {
        yield* Effect.promise(() => redis.start())
      }
      // Reconnected (an empty Redis: the minute starts over): two more each, then 429 on both.
      yield* within(10_000, Effect.map(chat(closed!, token), (r) => r.status === 200))
      expect((yield* chat(open!, token)).status).toBe(200)
      expect((yield* chat(open!, token)).status).toBe(429)
      expect((yield* chat(closed!, token)).status).toBe(429)
    }), 120_000)

  it.scopedLive("Redis frozen: a call that gets no answer ends at LB_REDIS_TIMEOUT_MS, never a hung request", () =>
    Effect.gen(function*() {
      const { replicas: [closed, open] } = yield* replicas(2, { LB_REDIS_TIMEOUT_MS: "200" }, [
        { LB_REDIS_FAILURE: "closed" },
        { LB_REDIS_FAILURE: "open" }
      ])
      const { token } = yield* setup([closed!, open!], { models: ["m1"], outputTokens: 2 }, { rpm_limit: 100 })
      expect((yield* chat(closed!, token)).status).toBe(200)
      redis.pause()
      try {
        const start = performance.now()
        const [refused, admitted] = yield* Effect.all([chat(closed!, token), chat(open!, token)], { concurrency: 2 })
        expect(performance.now() - start).toBeLessThan(2_000)
        expect([refused.status, refused.body.error.code]).toEqual([503, "rate_limit_unavailable"])
        expect(admitted.status).toBe(200)
      } finally {
        redis.resume()
      }
      yield* within(5_000, Effect.map(chat(closed!, token), (r) => r.status === 200))
    }), 120_000)

  it.scopedLive("the admin rate limit is shared across replicas", () =>
    Effect.gen(function*() {
      const { replicas: all } = yield* replicas(3, { LB_ADMIN_RATE_LIMIT_RPM: "6" })
      const answers = yield* Effect.all(Array.from({ length: 12 }, (_, i) => all[i % 3]!.admin("GET", "/state")), { concurrency: 1 })
      expect(answers.map((r) => r.status)).toEqual([...Array(6).fill(200), ...Array(6).fill(429)])
      const refused = answers[6]!
      expect(refused.body.message).toContain("at most 6 per minute")
      const retryAfter = Number(refused.headers.get("retry-after"))
      expect(retryAfter >= 1 && retryAfter <= 60).toBe(true)
    }), 120_000)
})

describe("limits shared through Redis by replicas as processes (dist/main.js)", () => {
  const ADMIN = "redis-process-admin-token-0123"

  const call = processCaller(ADMIN)

  const chatThrough = (lb: BalancerProcess, token: string) =>
    call(lb, "POST", "/v1/chat/completions", { model: "m1", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }, {
      authorization: `Bearer ${token}`
    })

  it.scopedLive("three processes let exactly 10 of 30 requests of an rpm limit of 10 through; Redis stopped, each warns once, not per request", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 2 })
      const url = postgres.createDatabase()
      const db = nextRedisDb()
      const all: Array<BalancerProcess> = []
      for (let i = 0; i < 3; i++) {
        all.push(yield* spawnBalancer({
          LB_DATABASE_URL: url,
          LB_REDIS_URL: redis.url(db),
          LB_REDIS_TIMEOUT_MS: "5000",
          LB_REPLICA_ID: `p${i}`,
          LB_ADMIN_TOKEN: ADMIN
        }))
      }
      const [a] = all
      expect((yield* call(a!, "POST", "/admin/api/endpoints", { name: "e", base_url: upstream.baseUrl, connected: true })).status).toBe(201)
      const created = yield* call(a!, "POST", "/admin/api/tokens", { name: "limited", rpm_limit: 10 })
      expect(created.status).toBe(201)
      const token = created.body.token as string
      for (const lb of all) {
        yield* within(5_000, Effect.map(call(lb, "GET", "/admin/api/state"), (r) => r.body.endpoints.length === 1))
        yield* within(5_000, Effect.map(call(lb, "GET", "/admin/api/tokens"), (r) => r.body.length === 1))
      }
      const answers = yield* Effect.all(Array.from({ length: 30 }, (_, i) => chatThrough(all[i % 3]!, token)), { concurrency: 30 })
      expect(answers.filter((r) => r.status === 200)).toHaveLength(10)
      expect(answers.filter((r) => r.status === 429)).toHaveLength(20)
      expect(generations(upstream)).toBe(10)

      // Default policy (open): admitted, and one warning per replica however many requests fail.
      yield* Effect.promise(() => redis.stop())
      try {
        for (let i = 0; i < 6; i++) expect((yield* chatThrough(all[i % 3]!, token)).status).toBe(200)
      } finally {
        yield* Effect.promise(() => redis.start())
      }
      for (const lb of all) {
        const warnings = lb.output().split("\n").filter((line) => line.includes("Redis unreachable for shared limits"))
        expect(warnings).toHaveLength(1)
        expect(JSON.parse(warnings[0]!)).toMatchObject({ logLevel: "WARN" })
      }
    }), 180_000)
})
