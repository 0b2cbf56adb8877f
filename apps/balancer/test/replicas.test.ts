/**
 * Several replicas on one PostgreSQL (issue 14): a change made through one replica is in force on the
 * others within 1 s, and each replica says which one it is. Real PostgreSQL, started by the test.
 */
import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { type Balancer, startBalancer } from "./support/Balancer.js"
import { type Postgres, startPostgres } from "./support/Engines.js"
import { parseScrape } from "./support/Prometheus.js"
import { within } from "./support/within.js"

let postgres: Postgres
beforeAll(async () => {
  postgres = await startPostgres()
}, 60_000)
afterAll(() => postgres?.stop())


const chat = (lb: Balancer, token?: string) =>
  lb.fetch("POST", "/v1/chat/completions", {
    body: { model: "m1", messages: [{ role: "user", content: "hi" }], max_tokens: 2 },
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
  })

const replicas = (count: number, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const url = postgres.createDatabase()
    const started: Array<Balancer> = []
    for (let i = 0; i < count; i++) {
      // A long periodic reload: what is measured here is the notification's path.
      started.push(yield* startBalancer({ LB_DATABASE_URL: url, LB_REPLICA_ID: `r${i}`, LB_CONFIG_RELOAD_SECONDS: "60", ...env }))
    }
    return started
  })

const requests = (lb: Balancer) => Effect.map(lb.admin("GET", "/state"), (r) => r.body.global.requests as number)

/** Two replicas with fast flushes, an endpoint; 1 request through B, 3 through A, and both answer 4 in total. */
const oneThroughBThreeThroughA = Effect.gen(function*() {
  const upstream = yield* simScoped({ models: ["m1"], outputTokens: 2 })
  const [a, b] = yield* replicas(2, { LB_STATS_FLUSH_SECONDS: "0.2" })
  yield* a!.admin("POST", "/endpoints", { name: "e", base_url: upstream.baseUrl, connected: true })
  yield* within(1_000, Effect.map(chat(b!), (r) => r.status === 200))
  for (let i = 0; i < 3; i++) expect((yield* chat(a!)).status).toBe(200)
  // Both answer 4 once each has flushed and read the other's deltas.
  yield* within(3_000, Effect.map(Effect.all([requests(a!), requests(b!)]), ([x, y]) => x === 4 && y === 4))
  return { upstream, a: a!, b: b! }
})

describe("several replicas on PostgreSQL", () => {
  it.scopedLive("each replica names itself in /health", () =>
    Effect.gen(function*() {
      const [a, b] = yield* replicas(2)
      expect((yield* a!.fetch("GET", "/health")).body.replica).toBe("r0")
      expect((yield* b!.fetch("GET", "/health")).body.replica).toBe("r1")
    }), 60_000)

  it.scopedLive("an endpoint created through A serves traffic through B within 1 s", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 2 })
      const [a, b] = yield* replicas(2)
      expect((yield* chat(b!)).status).toBe(503)
      const created = yield* a!.admin("POST", "/endpoints", { name: "shared", base_url: upstream.baseUrl, connected: true })
      expect(created.status).toBe(201)
      const ms = yield* within(1_000, Effect.map(chat(b!), (r) => r.status === 200))
      expect(ms).toBeLessThan(1_000)
      expect((yield* b!.admin("GET", "/state")).body.endpoints.map((e: any) => e.name)).toEqual(["shared"])
    }), 60_000)

  it.scopedLive("a token revoked through B is refused by A within 1 s; routing mode and deletions follow", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 2 })
      const [a, b] = yield* replicas(2)
      const endpoint = (yield* a!.admin("POST", "/endpoints", { name: "e", base_url: upstream.baseUrl, connected: true })).body
      const token = (yield* a!.admin("POST", "/tokens", { name: "t" })).body
      yield* within(1_000, Effect.map(chat(b!, token.token), (r) => r.status === 200))
      expect((yield* chat(a!, token.token)).status).toBe(200)

      expect((yield* b!.admin("PATCH", `/tokens/${token.id}`, { enabled: false })).status).toBe(200)
      yield* within(1_000, Effect.map(chat(a!, token.token), (r) => r.status === 401))

      yield* b!.admin("PATCH", "/routing", { mode: "priority" })
      yield* within(1_000, Effect.map(a!.admin("GET", "/state"), (r) => r.body.routing_mode === "priority"))

      yield* b!.admin("DELETE", `/endpoints/${endpoint.id}`)
      yield* within(1_000, Effect.map(a!.admin("GET", "/state"), (r) => r.body.endpoints.length === 0))
    }), 60_000)

  it.scopedLive("cumulative counters are the cluster's totals on every replica; reset-stats resets all", () =>
    Effect.gen(function*() {
      const { a, b } = yield* oneThroughBThreeThroughA
      expect((yield* a.admin("POST", "/reset-stats")).status).toBe(200)
      yield* within(3_000, Effect.map(Effect.all([requests(a), requests(b)]), ([x, y]) => x === 0 && y === 0))
      expect((yield* chat(b)).status).toBe(200)
      expect((yield* chat(a)).status).toBe(200)
      yield* within(3_000, Effect.map(Effect.all([requests(a), requests(b)]), ([x, y]) => x === 2 && y === 2))
    }), 60_000)

  it.scopedLive("each replica's /metrics carries replica=\"<id>\" on every sample and counts only its own traffic", () =>
    Effect.gen(function*() {
      const { upstream, a, b } = yield* oneThroughBThreeThroughA
      // Both hold the cluster's totals now, but each exports its own, so that Prometheus' sum over the replicas is the cluster's.
      const scrape = (lb: Balancer) => Effect.map(lb.fetch("GET", "/metrics"), (r) => parseScrape(r.body as string))
      const [ma, mb] = [yield* scrape(a), yield* scrape(b)]
      const perRequest = upstream.counters().promptTokens / 4
      for (const [m, id, own] of [[ma, "r0", 3], [mb, "r1", 1]] as const) {
        const samples = m.text.split("\n").filter((line) => line !== "" && !line.startsWith("#"))
        expect(samples.length).toBeGreaterThan(20)
        expect(samples.filter((line) => !line.includes(`replica="${id}"`))).toEqual([])
        expect(m.value("lb_endpoint_requests_total", { replica: id, endpoint: "e", status: "200" })).toBe(own)
        expect(m.value("lb_endpoint_tokens_total", { replica: id, endpoint: "e", type: "prompt" })).toBe(own * perRequest)
        expect(m.value("lb_endpoint_tokens_total", { replica: id, endpoint: "e", type: "completion" })).toBe(own * 2)
        expect(m.value("lb_request_duration_seconds_count", { replica: id, endpoint: "e", stream: "false" })).toBe(own)
      }
    }), 60_000)

  it.scopedLive("the audit log names the replica that made each change, read through either replica", () =>
    Effect.gen(function*() {
      const [a, b] = yield* replicas(2)
      const endpoint = (yield* a!.admin("POST", "/endpoints", { name: "audited", base_url: "http://127.0.0.1:9/v1" })).body
      // Each replica writes its entries behind (at least every second, and before a read through it): read
      // through A first, so that A's entry is stored before B's change.
      expect((yield* a!.admin("GET", "/audit")).body).toHaveLength(1)
      yield* within(1_000, Effect.map(b!.admin("PATCH", `/endpoints/${endpoint.id}`, { priority_order: 3 }), (r) => r.status === 200))
      const expected = [["endpoint.update", endpoint.id, "r1"], ["endpoint.create", endpoint.id, "r0"]]
      const entries = (lb: Balancer) => Effect.map(lb.admin("GET", "/audit"), (r) => r.body.map((e: any) => [e.action, e.target_id, e.replica]))
      expect(yield* entries(b!)).toEqual(expected)
      yield* within(3_000, Effect.map(entries(a!), (seen) => JSON.stringify(seen) === JSON.stringify(expected)))
    }), 60_000)

  it.scopedLive("token share: replicas with 3:1 traffic each steer to the 70/30 quotas, so the cluster's share is 70/30", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2].map(() => simScoped({ models: ["m1"], outputTokens: 20 })))
      const [a, b] = yield* replicas(2)
      const names = ["q70", "q30"]
      for (const [i, quota] of [70, 30].entries()) {
        expect((yield* a!.admin("POST", "/endpoints", { name: names[i], base_url: sims[i]!.baseUrl, connected: true, token_quota_percent: quota })).status).toBe(201)
      }
      yield* within(1_000, Effect.map(b!.admin("GET", "/state"), (r) => r.body.endpoints.length === 2))
      // Requests of different sizes, one after another on each replica, both replicas at once.
      let largest = 0
      const traffic = (lb: Balancer, count: number) =>
        Effect.gen(function*() {
          for (let i = 0; i < count; i++) {
            const words = Array.from({ length: 4 + (i % 9) * 3 }, (_, w) => `w${w}`).join(" ")
            const r = yield* lb.fetch("POST", "/v1/chat/completions", { body: { model: "m1", messages: [{ role: "user", content: words }] } })
            expect(r.status).toBe(200)
            largest = Math.max(largest, r.body.usage.total_tokens)
          }
        })
      yield* Effect.all([traffic(a!, 150), traffic(b!, 50)], { concurrency: 2 })

      // Percentage routing keeps each endpoint within a couple of requests of its target on each replica:
      // a few of the largest requests, over both, is the honest bound for the cluster.
      const bound = (total: number) => (4 * largest) / total
      const tokens = sims.map((s) => s.counters().promptTokens + s.counters().completionTokens)
      const cluster = tokens[0]! + tokens[1]!
      expect(Math.abs(tokens[0]! / cluster - 0.7)).toBeLessThanOrEqual(bound(cluster))
      // Each replica's own share, from its own /metrics; together they are what the upstreams counted.
      const own = (lb: Balancer, replica: string) =>
        Effect.map(lb.fetch("GET", "/metrics"), (r) => {
          const m = parseScrape(r.body as string)
          return names.map((endpoint) =>
            m.value("lb_endpoint_tokens_total", { replica, endpoint, type: "prompt" })! +
            m.value("lb_endpoint_tokens_total", { replica, endpoint, type: "completion" })!
          )
        })
      const [ownA, ownB] = [yield* own(a!, "r0"), yield* own(b!, "r1")]
      expect([ownA[0]! + ownB[0]!, ownA[1]! + ownB[1]!]).toEqual(tokens)
      for (const mine of [ownA, ownB]) {
        const total = mine[0]! + mine[1]!
        expect(Math.abs(mine[0]! / total - 0.7)).toBeLessThanOrEqual(bound(total) / 2)
      }
      expect(ownA[0]! + ownA[1]!).toBeGreaterThan(2.5 * (ownB[0]! + ownB[1]!))
    }), 90_000)

  it.scopedLive("an endpoint disabled through A gets no more traffic through B within 1 s", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2].map(() => simScoped({ models: ["m1"], outputTokens: 2 })))
      const [a, b] = yield* replicas(2)
      const created: Array<{ id: string }> = []
      for (const sim of sims) created.push((yield* a!.admin("POST", "/endpoints", { name: `e${created.length}`, base_url: sim.baseUrl, connected: true })).body)
      yield* within(1_000, Effect.map(b!.admin("GET", "/state"), (r) => r.body.endpoints.length === 2))
      for (let i = 0; i < 4; i++) expect((yield* chat(b!)).status).toBe(200)
      expect(sims.map((s) => s.counters().completed)).toEqual([2, 2])

      const disabled = created[0]!.id
      expect((yield* a!.admin("PATCH", `/endpoints/${disabled}`, { enabled: false })).status).toBe(200)
      yield* within(1_000, Effect.map(b!.admin("GET", "/state"), (r) => r.body.endpoints.find((e: any) => e.id === disabled)?.enabled === false))
      for (let i = 0; i < 10; i++) expect((yield* chat(b!)).status).toBe(200)
      expect(sims.map((s) => s.counters().completed)).toEqual([2, 12])
    }), 60_000)
})
