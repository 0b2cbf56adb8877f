import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { type Balancer, startBalancer, tempDbPath } from "./support/Balancer.js"
import { spawnBalancer } from "./support/Process.js"

const SECRET = "sk-live-0123456789abcdefghij"
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const valid = { name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" }

const audit = (lb: Balancer, query = "") => lb.admin("GET", `/audit${query}`).pipe(Effect.map((r) => r.body))

const created = (lb: Balancer, path: string, body: unknown) => lb.admin("POST", path, body).pipe(Effect.map((r) => r.body))

describe("audit log", () => {
  it.scopedLive("records each endpoint mutation with time, action, target, changed fields, client address and replica", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_REPLICA_ID: "replica-a" })
      const endpoint = yield* created(lb, "/endpoints", { ...valid, priority_order: 2 })
      yield* lb.admin("PATCH", `/endpoints/${endpoint.id}`, { priority_order: 5, enabled: false })
      yield* lb.admin("DELETE", `/endpoints/${endpoint.id}`)
      const [remove, update, create] = yield* audit(lb)
      const fields = {
        name: "gpu-a",
        base_url: "http://127.0.0.1:9001/v1",
        api_key: null,
        enabled: true,
        connected: false,
        token_quota_percent: 0,
        priority_order: 2,
        max_concurrent: 0,
        timeout: null,
        verify_tls: true,
        metrics_url: null,
        pos_x: 0,
        pos_y: 0
      }
      const target = { target_type: "endpoint", target_id: endpoint.id, client_address: "127.0.0.1", replica: "replica-a" }
      expect(create).toEqual({
        id: expect.any(Number),
        time: expect.stringMatching(ISO),
        action: "endpoint.create",
        ...target,
        changes: Object.fromEntries(Object.entries(fields).map(([field, value]) => [field, { new: value }]))
      })
      expect(update).toMatchObject({
        action: "endpoint.update",
        ...target,
        changes: { priority_order: { old: 2, new: 5 }, enabled: { old: true, new: false } }
      })
      expect(Object.keys(update.changes).sort()).toEqual(["enabled", "priority_order"])
      expect(remove).toMatchObject({
        action: "endpoint.delete",
        ...target,
        changes: { name: { old: "gpu-a" }, priority_order: { old: 5 }, enabled: { old: false } }
      })
      expect([create.id < update.id, update.id < remove.id]).toEqual([true, true])
    }))

  it.scopedLive("records block, routing and reset-stats mutations, and no reads or failed mutations", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const block = yield* created(lb, "/incoming-blocks", { name: "team" })
      yield* lb.admin("PATCH", `/incoming-blocks/${block.id}`, { enabled: false })
      yield* lb.admin("DELETE", `/incoming-blocks/${block.id}`)
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      yield* lb.admin("POST", "/reset-stats")
      yield* lb.admin("GET", "/state")
      yield* lb.admin("POST", "/incoming-blocks", { name: "default" })
      yield* lb.admin("PATCH", "/routing", { mode: "random" })
      yield* lb.admin("DELETE", "/incoming-blocks/default")
      const entries = yield* audit(lb)
      expect(entries.map((e: any) => [e.action, e.target_type, e.target_id])).toEqual([
        ["stats.reset", "stats", null],
        ["settings.update", "settings", "routing_mode"],
        ["incoming_block.delete", "incoming_block", block.id],
        ["incoming_block.update", "incoming_block", block.id],
        ["incoming_block.create", "incoming_block", block.id]
      ])
      expect(entries[1].changes).toEqual({ mode: { old: "percentage", new: "priority" } })
      expect(entries[3].changes).toEqual({ enabled: { old: true, new: false } })
    }))

  it.scopedLive("redacts api keys: shown as [redacted], null as null, the key itself nowhere", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const endpoint = yield* created(lb, "/endpoints", { ...valid, api_key: SECRET })
      yield* lb.admin("PATCH", `/endpoints/${endpoint.id}`, { api_key: `${SECRET}-2` })
      yield* lb.admin("PATCH", `/endpoints/${endpoint.id}`, { api_key: null })
      yield* lb.admin("DELETE", `/endpoints/${endpoint.id}`)
      const entries = yield* audit(lb)
      expect(JSON.stringify(entries)).not.toContain(SECRET.slice(3))
      expect(entries.map((e: any) => e.changes.api_key)).toEqual([
        { old: null },
        { old: "[redacted]", new: null },
        { old: "[redacted]", new: "[redacted]" },
        { new: "[redacted]" }
      ])
    }))

  it.scopedLive("pages newest first by id: limit (default 100, at most 1000) and before", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      for (let i = 0; i < 5; i++) yield* created(lb, "/endpoints", { ...valid, name: `page-${i}` })
      const all = yield* audit(lb)
      expect(all.map((e: any) => e.changes.name.new)).toEqual(["page-4", "page-3", "page-2", "page-1", "page-0"])
      const ids = all.map((e: any) => e.id)
      expect(ids).toEqual([...ids].sort((a, b) => b - a))

      const first = yield* audit(lb, "?limit=2")
      expect(first).toEqual(all.slice(0, 2))
      const second = yield* audit(lb, `?limit=2&before=${first[1].id}`)
      expect(second).toEqual(all.slice(2, 4))
      const last = yield* audit(lb, `?limit=2&before=${second[1].id}`)
      expect(last).toEqual(all.slice(4))
      expect(yield* audit(lb, `?before=${last[0].id}`)).toEqual([])

      for (const query of ["?limit=0", "?limit=1001", "?limit=ten", "?limit=1.5", "?before=x"]) {
        const refused = yield* lb.admin("GET", `/audit${query}`)
        expect([query, refused.status]).toEqual([query, 400])
        expect(refused.body.message).toContain(query.slice(1, query.indexOf("=")))
      }
      expect((yield* lb.admin("GET", "/audit?limit=1000")).status).toBe(200)
      expect((yield* lb.fetch("GET", "/admin/api/audit")).status).toBe(401)
    }))

  it.scopedLive("records a move once its target has been still for 5 seconds", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      yield* lb.admin("PATCH", "/incoming-pos", { pos_x: 1, pos_y: 2 })
      yield* Effect.sleep("1 second")
      yield* lb.admin("PATCH", "/incoming-pos", { pos_x: 3, pos_y: 4 })
      yield* Effect.sleep("4500 millis")
      expect(yield* audit(lb)).toEqual([])
      yield* Effect.sleep("1500 millis")
      expect((yield* audit(lb)).map((e: any) => e.changes)).toEqual([{ pos_x: { old: 0, new: 3 }, pos_y: { old: 0, new: 4 } }])
    }), 15_000)

  it.scopedLive("coalesces moves of one target into one entry, recorded before its next change or at shutdown", () =>
    Effect.gen(function*() {
      const dbPath = tempDbPath()
      const scope = yield* Scope.make()
      const lb = yield* startBalancer({}, dbPath).pipe(Scope.extend(scope))
      const endpoint = yield* created(lb, "/endpoints", valid)
      for (const [x, y] of [[1, 2], [3, 4], [5, 6]] as const) {
        yield* lb.admin("PATCH", "/incoming-pos", { pos_x: x, pos_y: y })
        yield* lb.admin("PATCH", `/endpoints/${endpoint.id}`, { pos_x: x * 10 })
      }
      yield* lb.admin("PATCH", `/endpoints/${endpoint.id}`, { pos_y: 70 })
      expect((yield* audit(lb)).map((e: any) => e.action)).toEqual(["endpoint.create"])
      // Another kind of change to the endpoint records its move first, then itself.
      yield* lb.admin("PATCH", `/endpoints/${endpoint.id}`, { pos_x: 0, name: "moved" })
      const running = yield* audit(lb)
      expect(running.map((e: any) => [e.target_id, e.changes])).toEqual([
        [endpoint.id, { pos_x: { old: 50, new: 0 }, name: { old: "gpu-a", new: "moved" } }],
        [endpoint.id, { pos_x: { old: 0, new: 50 }, pos_y: { old: 0, new: 70 } }],
        [endpoint.id, expect.objectContaining({ name: { new: "gpu-a" } })]
      ])
      yield* Scope.close(scope, Exit.void)

      const after = yield* startBalancer({}, dbPath)
      const entries = yield* audit(after)
      expect(entries[0]).toMatchObject({
        action: "settings.update",
        target_id: "incoming_pos",
        changes: { pos_x: { old: 0, new: 5 }, pos_y: { old: 0, new: 6 } }
      })
      expect(entries.slice(1)).toEqual(running)
    }))
})

describe("audit log lines", () => {
  it.scopedLive("logs each entry as one JSON line, secrets redacted (dist/main.js)", () =>
    Effect.gen(function*() {
      const token = "audit-admin-token-0123456789"
      const lb = yield* spawnBalancer({ LB_DB_PATH: tempDbPath(), LB_ADMIN_TOKEN: token, LB_LOG_LEVEL: "INFO" })
      const headers = { "x-admin-token": token, "content-type": "application/json" }
      const endpoint = yield* Effect.promise(() =>
        fetch(`${lb.url}/admin/api/endpoints`, { method: "POST", headers, body: JSON.stringify({ ...valid, api_key: SECRET }) })
          .then((r) => r.json())
      )
      yield* Effect.promise(() =>
        fetch(`${lb.url}/admin/api/endpoints/${endpoint.id}`, { method: "PATCH", headers, body: JSON.stringify({ api_key: `${SECRET}-2` }) })
      )
      yield* Effect.sleep("100 millis")
      const lines = lb.output().split("\n").filter((line) => line.includes('"audit"'))
      const logged = lines.map((line) => JSON.parse(line))
      expect(logged.map((l) => [l.logLevel, l.message, l.annotations.audit.action, l.annotations.audit.target_id])).toEqual([
        ["INFO", "audit", "endpoint.create", endpoint.id],
        ["INFO", "audit", "endpoint.update", endpoint.id]
      ])
      expect(logged[1].annotations.audit.changes).toEqual({ api_key: { old: "[redacted]", new: "[redacted]" } })
      expect(lb.output()).not.toContain(SECRET.slice(3))
    }))
})
