import { describe, expect, it } from "@effect/vitest"
import { startSim, type UpstreamSim } from "@llmlb/upstream-sim"
import { Reactivity } from "@effect/experimental"
import type { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Scope } from "effect"
import { WebSocket } from "ws"
import { startProducer, tempDbPath, type TestProducer } from "./support.js"

/** Runs SQL on a producer's database file directly (what a crash leaves, what a delete removed). */
const withDb = <A>(path: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.scoped(Effect.flatMap(SqliteClient.make({ filename: path }), f)).pipe(Effect.provide(Reactivity.layer), Effect.orDie)

const sim = (options: Parameters<typeof startSim>[0] = {}) =>
  Effect.acquireRelease(Effect.promise(() => startSim(options)), (s) => Effect.promise(() => s.close()))

/** Polls GET /api/runs/{id} until the run is no longer running (bounded). */
const waitEnded = (lp: TestProducer, id: number, timeoutMs = 20_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const run = yield* lp.call("GET", `/api/runs/${id}`)
      if (run.body.status !== "running") return run.body
      if (Date.now() > deadline) throw new Error(`run ${id} still running after ${timeoutMs} ms`)
      yield* Effect.sleep("50 millis")
    }
  })

const start = (lp: TestProducer, body: unknown) =>
  Effect.map(lp.call("POST", "/api/runs", body), (res) => {
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body.id as number
  })

interface Live {
  readonly messages: Array<any>
  /** Resolves with the first message (already received or to come) that satisfies `match`. */
  readonly next: (match: (m: any) => boolean, timeoutMs?: number) => Promise<any>
  readonly socket: WebSocket
}

const openLive = (url: string, headers: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Live>((resolve, reject) => {
        const socket = new WebSocket(url.replace("http", "ws") + "/api/live", { headers })
        const messages: Array<any> = []
        const waiters = new Set<() => void>()
        socket.on("message", (data) => {
          messages.push(JSON.parse(String(data)))
          for (const wake of waiters) wake()
        })
        socket.once("open", () =>
          resolve({
            messages,
            socket,
            next: (match, timeoutMs = 10_000) =>
              new Promise((res, rej) => {
                const check = () => {
                  const found = messages.find(match)
                  if (found === undefined) return
                  waiters.delete(check)
                  clearTimeout(timer)
                  res(found)
                }
                const timer = setTimeout(() => {
                  waiters.delete(check)
                  rej(new Error("no matching live message"))
                }, timeoutMs)
                waiters.add(check)
                check()
              })
          })
        )
        socket.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
        socket.once("error", reject)
      })
    ),
    (live) => Effect.sync(() => live.socket.terminate())
  )

/** The status of a WebSocket upgrade to /api/live (101 when accepted). */
const upgradeStatus = (url: string, path: string, headers: Record<string, string> = {}) =>
  Effect.promise(() =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(url.replace("http", "ws") + path, { headers })
      socket.once("open", () => {
        socket.terminate()
        resolve(101)
      })
      socket.once("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0)
        socket.terminate()
      })
      socket.once("error", () => resolve(0))
    })
  )

const receivedIds = (s: UpstreamSim) =>
  s.received().filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.headers["x-request-id"])

describe("runs", () => {
  it.scopedLive("a run from settings: 201 with its id, done with the CLI's report, its CSV one row a request the simulator received", () =>
    Effect.gen(function*() {
      const s = yield* sim({ models: ["m1"], outputTokens: 8, interTokenMs: 1 })
      const lp = yield* startProducer()
      const id = yield* start(lp, { base_url: s.baseUrl, concurrency: 2, requests: 12, max_tokens: 8, label: "card A" })
      const run = yield* waitEnded(lp, id)
      expect(run).toMatchObject({ id, status: "done", label: "card A", reason: null })
      expect(run.settings).toMatchObject({ base_url: s.baseUrl, concurrency: 2, requests: 12 })
      expect(run.report).toMatchObject({ completed: 12, failed: 0, total_output_tokens: 96 })
      expect(run.requests_stored).toBe(12)
      const csv = yield* lp.call("GET", `/api/runs/${id}/requests.csv`)
      expect(csv.headers.get("content-type")).toContain("text/csv")
      const lines = (csv.body as string).trim().split("\n")
      expect(lines[0]).toMatch(/^request_id,/)
      const ids = lines.slice(1).map((line) => line.split(",")[0])
      expect(ids.sort()).toEqual(receivedIds(s).sort())
      const requests = yield* lp.call("GET", `/api/runs/${id}/requests`)
      expect(requests.body).toHaveLength(12)
    }), 30_000)

  it.scopedLive("a run by profile or preset name; one bound to no model configuration sends to LP_DEFAULT_BASE_URL", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 4 })
      const other = yield* sim({ models: ["bound-model"], outputTokens: 4 })
      const lp = yield* startProducer({ LP_DEFAULT_BASE_URL: s.baseUrl })
      const byPreset = yield* waitEnded(lp, yield* start(lp, { profile: "Smoke test (1 x 10)" }))
      expect(byPreset).toMatchObject({ status: "done", settings: { base_url: s.baseUrl, concurrency: 1, requests: 10 } })
      expect(s.counters().requests).toBeGreaterThanOrEqual(10)

      const mc = yield* lp.call("POST", "/api/model-configs", { name: "other", base_url: other.baseUrl, api_key: "secret-key-0123456789" })
      yield* lp.call("POST", "/api/profiles", { name: "Bound", model_config_id: mc.body.id, settings: { concurrency: 1, requests: 3 } })
      const bound = yield* waitEnded(lp, yield* start(lp, { profile: "bound" }))
      expect(bound).toMatchObject({ status: "done", settings: { base_url: other.baseUrl, requests: 3 } })
      expect(JSON.stringify(bound)).not.toContain("secret-key-0123456789")
      expect(other.received().filter((r) => r.path.endsWith("/chat/completions"))).toHaveLength(3)
      expect(other.received().at(-1)?.headers["authorization"]).toBe("Bearer secret-key-0123456789")

      const withConfig = yield* waitEnded(lp, yield* start(lp, { model_config_id: mc.body.id, concurrency: 1, requests: 2 }))
      expect(withConfig).toMatchObject({ status: "done", settings: { base_url: other.baseUrl, requests: 2 } })
      expect(other.received().filter((r) => r.path.endsWith("/chat/completions"))).toHaveLength(5)
      expect((yield* lp.call("GET", "/api/defaults")).body).toEqual({ base_url: s.baseUrl })

      const unknown = yield* lp.call("POST", "/api/runs", { profile: "no such profile" })
      expect(unknown.status).toBe(404)
    }), 30_000)

  it.scopedLive.each([
    [{ concurrency: 2 }, "base_url"],
    [{ base_url: "http://127.0.0.1:9/v1", rate: -2, requests: 3 }, "rate"],
    [{ base_url: "http://127.0.0.1:9/v1", requests: 3, colour: "red" }, "colour"]
  ] as const)("bad settings are a 400 naming the field: %j", ([body, field]) =>
    Effect.gen(function*() {
      const lp = yield* startProducer()
      const res = yield* lp.call("POST", "/api/runs", body)
      expect(res.status).toBe(400)
      expect(res.body.message).toContain(field)
    }), 30_000)

  it.scopedLive("stop ends a run: stopped, with its report; stopping it again is a 409; two runs go at once", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 1000, interTokenMs: 20 })
      const lp = yield* startProducer()
      const a = yield* start(lp, { base_url: s.baseUrl, concurrency: 3, duration: 60, max_tokens: 1000 })
      const b = yield* start(lp, { base_url: s.baseUrl, concurrency: 2, duration: 60, max_tokens: 1000 })
      yield* Effect.sleep("1200 millis")
      expect(s.counters().running).toBe(5)
      const stopped = yield* lp.call("POST", `/api/runs/${a}/stop`)
      expect(stopped.body).toEqual({ id: a, status: "stopped" })
      expect((yield* lp.call("GET", `/api/runs/${b}`)).body.status).toBe("running")
      const run = (yield* lp.call("GET", `/api/runs/${a}`)).body
      expect(run.report).toMatchObject({ settings: { concurrency: 3 } })
      expect((yield* lp.call("POST", `/api/runs/${a}/stop`)).status).toBe(409)
      expect((yield* lp.call("DELETE", `/api/runs/${b}`)).status).toBe(409)
      yield* lp.call("POST", `/api/runs/${b}/stop`)
      expect((yield* lp.call("POST", `/api/runs/999/stop`)).status).toBe(404)
    }), 30_000)

  it.scopedLive("history: newest first, paged with limit and before; a deleted run is gone with its requests", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 2 })
      const lp = yield* startProducer()
      const ids: Array<number> = []
      for (let i = 0; i < 3; i++) ids.push(yield* start(lp, { base_url: s.baseUrl, concurrency: 1, requests: 2, label: `r${i}` }))
      for (const id of ids) yield* waitEnded(lp, id)
      const page1 = (yield* lp.call("GET", "/api/runs?limit=2")).body
      expect(page1.map((r: { id: number }) => r.id)).toEqual([ids[2], ids[1]])
      expect(page1[0]).toMatchObject({ label: "r2", status: "done", figures: { completed: 2, failed: 0 } })
      const page2 = (yield* lp.call("GET", `/api/runs?limit=2&before=${ids[1]}`)).body
      expect(page2.map((r: { id: number }) => r.id)).toEqual([ids[0]])
      expect((yield* lp.call("DELETE", `/api/runs/${ids[0]}`)).status).toBe(204)
      expect((yield* lp.call("GET", `/api/runs/${ids[0]}`)).status).toBe(404)
      expect((yield* lp.call("GET", `/api/runs/${ids[0]}/requests.csv`)).status).toBe(404)
      const rows = yield* withDb(lp.dbPath, (sql) => sql`SELECT count(*) AS n FROM run_requests WHERE run_id = ${ids[0]!}`)
      expect(rows).toEqual([{ n: 0 }])
    }), 30_000)

  it.scopedLive("LP_MAX_STORED_REQUESTS bounds the rows kept of a run", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 2 })
      const lp = yield* startProducer({ LP_MAX_STORED_REQUESTS: "5" })
      const run = yield* waitEnded(lp, yield* start(lp, { base_url: s.baseUrl, concurrency: 2, requests: 9 }))
      expect(run).toMatchObject({ requests_stored: 5, requests_dropped: 4, report: { completed: 9 } })
      expect((yield* lp.call("GET", `/api/runs/${run.id}/requests`)).body).toHaveLength(5)
    }), 30_000)

  it.scopedLive("the live feed: every client gets status, one point a second and events of each run", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 50, interTokenMs: 10 })
      const lp = yield* startProducer()
      const first = yield* openLive(lp.url)
      const second = yield* openLive(lp.url)
      const id = yield* start(lp, { base_url: s.baseUrl, concurrency: 2, duration: 2.5 })
      for (const live of [first, second]) {
        yield* Effect.promise(() => live.next((m) => m.run_id === id && m.type === "status" && m.status === "running"))
        const point = yield* Effect.promise(() => live.next((m) => m.run_id === id && m.type === "point"))
        expect(point.point).toMatchObject({ t: expect.any(Number), sent: expect.any(Number), in_flight: expect.any(Number) })
        yield* Effect.promise(() => live.next((m) => m.run_id === id && m.type === "event"))
        yield* Effect.promise(() => live.next((m) => m.run_id === id && m.type === "status" && m.status === "done", 15_000))
      }
      const points = first.messages.filter((m) => m.run_id === id && m.type === "point")
      expect(points.length).toBeGreaterThanOrEqual(2)
    }), 30_000)

  it.scopedLive("a client connecting during a run gets its status and last point at once", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 1000, interTokenMs: 20 })
      const lp = yield* startProducer()
      const id = yield* start(lp, { base_url: s.baseUrl, concurrency: 1, duration: 30 })
      yield* Effect.sleep("1500 millis")
      const late = yield* openLive(lp.url)
      yield* Effect.promise(() => late.next((m) => m.run_id === id && m.type === "status", 500))
      yield* Effect.promise(() => late.next((m) => m.run_id === id && m.type === "point", 500))
      yield* lp.call("POST", `/api/runs/${id}/stop`)
    }), 30_000)

  it.scopedLive("a graceful shutdown stops running runs and keeps them as stopped; a run cut by a crash is interrupted at the next start", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 1000, interTokenMs: 20 })
      const dbPath = tempDbPath()
      const scope = yield* Scope.make()
      const first = yield* startProducer({}, dbPath).pipe(Scope.extend(scope))
      const id = yield* start(first, { base_url: s.baseUrl, concurrency: 2, duration: 60 })
      yield* Effect.sleep("1200 millis")
      yield* Scope.close(scope, { _tag: "Success", value: undefined } as never)
      // What a crash leaves: a row still marked running.
      const inserted = yield* withDb(dbPath, (sql) =>
        sql<{ id: number }>`INSERT INTO runs (label, status, started_at, settings)
          VALUES ('crashed', 'running', '2026-01-01T00:00:00Z', '{}') RETURNING id`)
      const crashed = inserted[0]!.id
      const second = yield* startProducer({}, dbPath)
      const graceful = (yield* second.call("GET", `/api/runs/${id}`)).body
      expect(graceful.status).toBe("stopped")
      expect(graceful.report).not.toBeNull()
      const cut = (yield* second.call("GET", `/api/runs/${crashed}`)).body
      expect(cut).toMatchObject({ status: "interrupted", report: null })
    }), 30_000)
})

describe("LP_TOKEN", () => {
  const TOKEN = "lp-test-token-0123456789"

  it.scopedLive("every API call needs Authorization: Bearer, the OpenAPI document says so", () =>
    Effect.gen(function*() {
      const lp = yield* startProducer({ LP_TOKEN: TOKEN })
      for (const [method, path] of [["GET", "/api/model-configs"], ["GET", "/api/presets"], ["GET", "/api/runs"], ["POST", "/api/runs"], ["POST", "/api/live/ticket"]] as const) {
        expect((yield* lp.call(method, path, method === "POST" ? {} : undefined)).status, path).toBe(401)
        expect((yield* lp.call(method, path, method === "POST" ? {} : undefined, { authorization: "Bearer wrong" })).status, path).toBe(401)
      }
      expect((yield* lp.call("GET", "/api/presets", undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(200)
      const doc = (yield* lp.call("GET", "/api/openapi.json")).body
      for (const [path, methods] of Object.entries<Record<string, { security?: unknown }>>(doc.paths)) {
        for (const [method, op] of Object.entries(methods)) expect(op.security, `${method} ${path}`).toEqual([{ bearer: [] }])
      }
    }), 30_000)

  it.scopedLive("the WebSocket takes the Authorization header or a single-use ticket", () =>
    Effect.gen(function*() {
      const lp = yield* startProducer({ LP_TOKEN: TOKEN })
      expect(yield* upgradeStatus(lp.url, "/api/live")).toBe(401)
      expect(yield* upgradeStatus(lp.url, "/api/live", { authorization: "Bearer wrong" })).toBe(401)
      expect(yield* upgradeStatus(lp.url, "/api/live", { authorization: `Bearer ${TOKEN}` })).toBe(101)
      const ticket = (yield* lp.call("POST", "/api/live/ticket", undefined, { authorization: `Bearer ${TOKEN}` })).body.ticket
      expect(yield* upgradeStatus(lp.url, `/api/live?ticket=${ticket}`)).toBe(101)
      expect(yield* upgradeStatus(lp.url, `/api/live?ticket=${ticket}`)).toBe(401)
      expect(yield* upgradeStatus(lp.url, "/api/other")).toBe(404)
    }), 30_000)
})
