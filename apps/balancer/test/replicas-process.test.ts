/**
 * Several replicas as real processes (dist/main.js, built by the root `test` script) on one real
 * PostgreSQL started by the test (issue 14 item 7).
 */
import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Duration, Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { type Postgres, startPostgres } from "./support/Engines.js"
import { type BalancerProcess, processCaller, spawnBalancer } from "./support/Process.js"
import { within } from "./support/within.js"

const ADMIN = "replica-test-admin-token-0123"
let postgres: Postgres
beforeAll(async () => {
  postgres = await startPostgres()
}, 60_000)
afterAll(() => postgres?.stop())

const call = processCaller(ADMIN)

const chat = (lb: BalancerProcess, token?: string) =>
  call(lb, "POST", "/v1/chat/completions", { model: "m1", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }, token === undefined ? {} : { authorization: `Bearer ${token}` })


const replicas = (count: number, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const url = postgres.createDatabase()
    const started: Array<BalancerProcess> = []
    for (let i = 0; i < count; i++) {
      started.push(yield* spawnBalancer({
        LB_DATABASE_URL: url,
        LB_REPLICA_ID: `p${i}`,
        LB_ADMIN_TOKEN: ADMIN,
        LB_ADMIN_RATE_LIMIT_RPM: "100000",
        ...env
      }))
    }
    return started
  })

describe("replicas as processes", () => {
  it.scopedLive("an endpoint created through A serves traffic through B within 1 s", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 2 })
      const [a, b] = yield* replicas(2)
      expect((yield* call(b!, "GET", "/health")).body.replica).toBe("p1")
      expect((yield* call(a!, "POST", "/admin/api/endpoints", { name: "e", base_url: upstream.baseUrl, connected: true })).status).toBe(201)
      yield* within(1_000, Effect.map(chat(b!), (r) => r.status === 200))
    }), 60_000)

  it.scopedLive("kill -9 of a replica during admin writes through it loses no acknowledged write; the other serves on", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 2 })
      const [a, b] = yield* replicas(2)
      yield* call(b!, "POST", "/admin/api/endpoints", { name: "serving", base_url: upstream.baseUrl, connected: true })
      yield* within(1_000, Effect.map(chat(a!), (r) => r.status === 200))
      const acknowledged: Array<string> = []
      let secret: string | undefined
      // Writes through A, one after another; A is killed part-way (after about 1,000 or 3 s).
      const writes = Effect.gen(function*() {
        for (let i = 0; i < 1_000; i++) {
          const r = yield* call(a!, "POST", "/admin/api/tokens", { name: `w${i}` })
          if (r.status !== 201) return
          acknowledged.push(r.body.id)
          secret ??= r.body.token
        }
      })
      const killer = Effect.sleep(Duration.millis(1_500)).pipe(Effect.zipRight(Effect.sync(() => a!.child.kill("SIGKILL"))))
      yield* Effect.all([writes, killer], { concurrency: 2 })
      expect(acknowledged.length).toBeGreaterThan(0)
      // B serves its token list from memory: the last writes through A reach it within 1 s (live configuration)
      const missing = Effect.map(call(b!, "GET", "/admin/api/tokens"), (r) => {
        const stored = new Set<string>(r.body.map((t: any) => t.id))
        return acknowledged.filter((id) => !stored.has(id))
      })
      yield* Effect.exit(within(1_000, Effect.map(missing, (ids) => ids.length === 0)))
      expect(yield* missing).toEqual([])
      // Tokens exist now, so /v1 wants one: B knows those written through A.
      yield* within(1_000, Effect.map(chat(b!, secret), (r) => r.status === 200))
    }), 90_000)

  it.scopedLive("PostgreSQL restarted under traffic: proxying goes on, admin writes get 503 within 5 s meanwhile and work after; listeners reconnect", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 2 })
      // No periodic reload within the test: what carries the last change is the reconnected listener.
      const [a, b] = yield* replicas(2, { LB_CONFIG_RELOAD_SECONDS: "600" })
      yield* call(a!, "POST", "/admin/api/endpoints", { name: "e", base_url: upstream.baseUrl, connected: true })
      postgres.pgStop()
      try {
        for (let i = 0; i < 20; i++) expect((yield* chat(a!)).status).toBe(200)
        // Each kind of admin write: a 503 in the admin API's shape within 5 s, not a 500 or a hang.
        const writes = [
          () => call(a!, "PATCH", "/admin/api/routing", { mode: "priority" }),
          () => call(a!, "POST", "/admin/api/endpoints", { name: "while-down", base_url: upstream.baseUrl }),
          () => call(a!, "POST", "/admin/api/tokens", { name: "while-down" })
        ]
        for (const write of writes) {
          const start = performance.now()
          const answer = yield* write()
          expect(performance.now() - start).toBeLessThan(5_000)
          expect(answer.status).toBe(503)
          expect(answer.body._tag).toBe("ServiceUnavailable")
          expect(answer.body.message).toContain("database is unavailable")
          expect(answer.headers.get("retry-after")).toBe("5")
        }
        // Nothing of the refused writes took effect in memory either.
        expect((yield* call(a!, "GET", "/admin/api/state")).body.routing_mode).toBe("percentage")
        expect((yield* chat(a!)).status).toBe(200)
      } finally {
        postgres.pgStart()
      }
      yield* within(10_000, Effect.map(call(a!, "PATCH", "/admin/api/routing", { mode: "priority" }), (r) => r.status === 200))
      expect((yield* chat(a!)).status).toBe(200)
      // B's listener lost its connection too; it is back and hears A's changes again.
      yield* within(10_000, Effect.map(call(a!, "PATCH", "/admin/api/routing", { mode: "percentage" }), (r) => r.status === 200))
      yield* within(1_000, Effect.map(call(b!, "GET", "/admin/api/state"), (r) => r.body?.routing_mode === "percentage"))
    }), 90_000)
})
