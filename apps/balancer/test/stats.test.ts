import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect, Exit, Scope } from "effect"
import { type Balancer, connectEndpoint, startBalancer, tempDbPath } from "./support/Balancer.js"
import { spawnBalancer } from "./support/Process.js"

const chat = { model: "m1", messages: [{ role: "user", content: "one two three four" }], max_tokens: 5 }

/** Sends requests one after the other; returns their statuses. */
const send = (lb: Balancer, n: number) =>
  Effect.forEach(Array.from({ length: n }), () =>
    lb.fetch("POST", "/v1/chat/completions", { body: chat }).pipe(Effect.map((r) => r.status)))

/** The counters that persist (rates restart empty). */
const cumulative = (state: any) => ({
  endpoints: state.endpoints.map((e: any) => {
    const { tokens_per_second: _t, requests_per_second: _r, ...stats } = e.stats
    return { id: e.id, stats }
  }),
  global: { requests: state.global.requests, prompt_tokens: state.global.prompt_tokens, completion_tokens: state.global.completion_tokens }
})

const state = (lb: Balancer) => lb.admin("GET", "/state").pipe(Effect.map((r) => r.body))

/** The endpoint_stats table, read through a second connection. */
const storedStats = (dbPath: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql`SELECT endpoint_id, requests, failures, prompt_tokens, completion_tokens, estimated_tokens
          FROM endpoint_stats ORDER BY endpoint_id`
  ).pipe(Effect.provide(SqliteClient.layer({ filename: dbPath, readonly: true })), Effect.orDie)

/** Starts a balancer in its own scope, so that the test can stop it (as at shutdown) and start another. */
const startStoppable = (env: Record<string, string>, dbPath: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const lb = yield* startBalancer(env, dbPath).pipe(Scope.extend(scope))
    return { lb, stop: Scope.close(scope, Exit.void) }
  })

/** Only the last flush, at shutdown, can have written anything. */
const NO_PERIODIC_FLUSH = { LB_STATS_FLUSH_SECONDS: "3600" }

describe("stats persistence", () => {
  it.scopedLive("restores every endpoint's counters and the global sums after a restart (written at shutdown)", () =>
    Effect.gen(function*() {
      const healthy = yield* simScoped({ models: ["m1"], outputTokens: 3 })
      const flaky = yield* simScoped({ models: ["m1"], outputTokens: 4, fault: { kind: "status", status: 503, every: 2 } })
      const dbPath = tempDbPath()
      const first = yield* startStoppable(NO_PERIODIC_FLUSH, dbPath)
      yield* connectEndpoint(first.lb, healthy.baseUrl, { token_quota_percent: 50 })
      yield* connectEndpoint(first.lb, flaky.baseUrl, { token_quota_percent: 50 })
      expect((yield* send(first.lb, 12)).every((status) => status === 200)).toBe(true)
      const before = cumulative(yield* state(first.lb))
      expect(before.global.requests).toBe(12)
      expect(before.endpoints.map((e: any) => e.stats.failures)).toEqual([0, expect.any(Number)])
      expect(before.endpoints[1].stats.failures).toBeGreaterThan(0)
      expect(yield* storedStats(dbPath)).toEqual([])
      yield* first.stop

      const second = yield* startBalancer(NO_PERIODIC_FLUSH, dbPath)
      expect(cumulative(yield* state(second))).toEqual(before)
    }))

  it.scopedLive("writes the changed counters every LB_STATS_FLUSH_SECONDS while running", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 3 })
      const lb = yield* startBalancer({ LB_STATS_FLUSH_SECONDS: "0.2" })
      const endpoint = yield* connectEndpoint(lb, upstream.baseUrl)
      yield* send(lb, 2)
      yield* Effect.sleep("500 millis")
      expect(yield* storedStats(lb.dbPath)).toEqual([
        { endpoint_id: endpoint.id, requests: 2, failures: 0, prompt_tokens: 8, completion_tokens: 6, estimated_tokens: 0 }
      ])
    }))

  it.scopedLive("reset-stats zeroes the counters in memory and in the database, also after a restart, and is audited", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 3 })
      const dbPath = tempDbPath()
      const first = yield* startStoppable({ LB_STATS_FLUSH_SECONDS: "0.1" }, dbPath)
      const endpoint = yield* connectEndpoint(first.lb, upstream.baseUrl)
      yield* send(first.lb, 3)
      yield* Effect.sleep("300 millis")
      expect(yield* storedStats(dbPath)).toHaveLength(1)

      const reset = yield* first.lb.admin("POST", "/reset-stats")
      expect([reset.status, reset.body]).toEqual([200, { status: "ok" }])
      const zero = { requests: 0, prompt_tokens: 0, completion_tokens: 0, tokens_per_second: 0, requests_per_second: 0 }
      const after = yield* state(first.lb)
      expect(after.endpoints[0].stats).toEqual({ ...zero, failures: 0, avg_latency_seconds: 0 })
      expect(after.global).toEqual({ ...zero, total_inflight: 0 })
      expect(yield* storedStats(dbPath)).toEqual([])
      const [entry] = (yield* first.lb.admin("GET", "/audit?limit=1")).body
      expect(entry).toMatchObject({ action: "stats.reset", target_type: "stats", target_id: null, changes: {} })

      yield* send(first.lb, 1)
      yield* first.stop
      const second = yield* startBalancer({}, dbPath)
      expect((yield* state(second)).endpoints[0]).toMatchObject({ id: endpoint.id, stats: { requests: 1, prompt_tokens: 4, completion_tokens: 3 } })
      expect((yield* state(second)).global).toMatchObject({ requests: 1, prompt_tokens: 4, completion_tokens: 3 })
    }))

  it.scopedLive("forgets a deleted endpoint's counters: its row, and its part of the global sums", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 3 })
      const lb = yield* startBalancer({ LB_STATS_FLUSH_SECONDS: "0.1" })
      const kept = yield* connectEndpoint(lb, upstream.baseUrl, { priority_order: 0 })
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      yield* send(lb, 2)
      const gone = yield* connectEndpoint(lb, upstream.baseUrl, { priority_order: 0 })
      yield* lb.admin("PATCH", `/endpoints/${kept.id}`, { enabled: false })
      yield* send(lb, 1)
      yield* Effect.sleep("300 millis")
      const requestsById = Object.fromEntries((yield* storedStats(lb.dbPath)).map((row: any) => [row.endpoint_id, row.requests]))
      expect(requestsById).toEqual({ [kept.id]: 2, [gone.id]: 1 })
      yield* lb.admin("DELETE", `/endpoints/${gone.id}`)
      expect((yield* state(lb)).global.requests).toBe(2)
      yield* Effect.sleep("300 millis")
      expect((yield* storedStats(lb.dbPath)).map((row: any) => row.endpoint_id)).toEqual([kept.id])
    }))

  it.scopedLive("writes the counters when dist/main.js stops on SIGTERM", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 3 })
      const dbPath = tempDbPath()
      const token = "stats-admin-token-0123456789"
      const lb = yield* spawnBalancer({ LB_DB_PATH: dbPath, LB_ADMIN_TOKEN: token, ...NO_PERIODIC_FLUSH })
      const post = (path: string, body: unknown) =>
        Effect.promise(() =>
          fetch(lb.url + path, {
            method: "POST",
            headers: { "x-admin-token": token, "content-type": "application/json" },
            body: JSON.stringify(body)
          }).then((r) => r.json())
        )
      const endpoint = yield* post("/admin/api/endpoints", { name: "sim", base_url: upstream.baseUrl, connected: true })
      for (let i = 0; i < 2; i++) yield* post("/v1/chat/completions", chat)
      lb.child.kill("SIGTERM")
      expect(yield* Effect.promise(() => lb.exited)).toBe(0)
      expect(yield* storedStats(dbPath)).toEqual([
        { endpoint_id: endpoint.id, requests: 2, failures: 0, prompt_tokens: 8, completion_tokens: 6, estimated_tokens: 0 }
      ])
    }))
})
