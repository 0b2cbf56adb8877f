import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import pkg from "../package.json" with { type: "json" }
import { ADMIN_TOKEN, startBalancer, tempDbPath, TestBalancer } from "./support/Balancer.js"

const SECRET = "sk-live-0123456789abcdefghij"
const valid = { name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" }

layer(TestBalancer.layer())("admin API", (it) => {
  describe("authentication", () => {
    it.effect.each([
      ["missing", {}],
      ["empty", { "x-admin-token": "" }],
      ["wrong", { "x-admin-token": "not-the-token-at-all" }],
      ["a prefix of the right one", { "x-admin-token": ADMIN_TOKEN.slice(0, -1) }]
    ] as const)("refuses a %s X-Admin-Token with 401", ([, headers]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const response = yield* lb.fetch("GET", "/admin/api/state", { headers })
        expect(response.status).toBe(401)
        expect(response.body.message).toContain("X-Admin-Token")
      }))

    it.effect("guards mutations too", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const response = yield* lb.fetch("POST", "/admin/api/endpoints", { body: { ...valid, name: "sneaky" } })
        expect(response.status).toBe(401)
        expect((yield* lb.admin("GET", "/endpoints")).body.map((e: any) => e.name)).not.toContain("sneaky")
      }))
  })

  describe("endpoints", () => {
    it.effect("creates with 201 and the documented defaults", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const response = yield* lb.admin("POST", "/endpoints", { name: "defaults", base_url: "http://10.0.0.1:8000/v1" })
        expect(response.status).toBe(201)
        const { id, ...rest } = response.body
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        expect(rest).toEqual({
          name: "defaults",
          base_url: "http://10.0.0.1:8000/v1",
          api_key_preview: null,
          enabled: true,
          connected: false,
          token_quota_percent: 0,
          priority_order: 0,
          max_concurrent: 0,
          timeout: null,
          verify_tls: true,
          metrics_url: null,
          pos_x: 0,
          pos_y: 0
        })
      }))

    it.effect("stores every field given", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const input = {
          name: "full",
          base_url: "https://gpu.example:8443/openai/v1",
          api_key: SECRET,
          enabled: false,
          connected: true,
          token_quota_percent: 37.5,
          priority_order: 2,
          max_concurrent: 8,
          timeout: 12.5,
          verify_tls: false,
          metrics_url: "http://gpu.example:9100/metrics",
          pos_x: -120.5,
          pos_y: 300
        }
        const created = yield* lb.admin("POST", "/endpoints", input)
        const { api_key: _, ...expected } = input
        expect(created.body).toEqual({ id: created.body.id, ...expected, api_key_preview: "sk-...ghij" })
        expect((yield* lb.admin("GET", `/endpoints/${created.body.id}`)).body).toEqual(created.body)
      }))

    it.effect("never shows the api_key, only its preview", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* lb.admin("POST", "/endpoints", { ...valid, name: "secret", api_key: SECRET })
        const patched = yield* lb.admin("PATCH", `/endpoints/${created.body.id}`, { api_key: `${SECRET}-2` })
        const listed = yield* lb.admin("GET", "/endpoints")
        const state = yield* lb.admin("GET", "/state")
        for (const response of [created, patched, listed, state]) {
          expect(JSON.stringify(response.body)).not.toContain(SECRET)
          expect(JSON.stringify(response.body)).not.toContain("api_key\"")
        }
        expect(patched.body.api_key_preview).toBe("sk-...ij-2")
        const short = yield* lb.admin("POST", "/endpoints", { ...valid, name: "short-key", api_key: "abc123" })
        expect(short.body.api_key_preview).toBe("***")
      }))

    it.effect.each([
      ["http://vllm:8000", "http://vllm:8000/v1"],
      ["http://vllm:8000/", "http://vllm:8000/v1"],
      ["https://host/openai/v1/", "https://host/openai/v1"],
      ["  http://h:1/v1  ", "http://h:1/v1"]
    ])("normalises base_url %s to %s", ([input, expected]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* lb.admin("POST", "/endpoints", { name: `norm ${input}`, base_url: input })
        expect(created.status).toBe(201)
        expect(created.body.base_url).toBe(expected)
      }))

    it.effect.each([
      ["name", { name: "" }],
      ["name", { name: "x".repeat(101) }],
      ["name", { name: "line\nbreak" }],
      ["name", { name: "   " }],
      ["name", { name: 42 }],
      ["base_url", { base_url: "ftp://files.example/v1" }],
      ["base_url", { base_url: "not a url" }],
      ["base_url", { base_url: "http://user:pw@host:8000/v1" }],
      ["base_url", { base_url: "http://host/v1?key=1" }],
      ["api_key", { api_key: 123 }],
      ["enabled", { enabled: "yes" }],
      ["connected", { connected: 1 }],
      ["token_quota_percent", { token_quota_percent: -1 }],
      ["token_quota_percent", { token_quota_percent: 100.5 }],
      ["token_quota_percent", { token_quota_percent: "50" }],
      ["priority_order", { priority_order: -1 }],
      ["priority_order", { priority_order: 1.5 }],
      ["max_concurrent", { max_concurrent: -3 }],
      ["max_concurrent", { max_concurrent: 0.5 }],
      ["timeout", { timeout: 0 }],
      ["timeout", { timeout: -5 }],
      ["timeout", { timeout: 3601 }],
      ["verify_tls", { verify_tls: null }],
      ["metrics_url", { metrics_url: "ftp://gpu.example/metrics" }],
      ["metrics_url", { metrics_url: "http://user:secret@gpu.example/metrics" }],
      ["pos_x", { pos_x: "10" }],
      ["pos_y", { pos_y: null }],
      ["unexpected_field", { unexpected_field: true }]
    ] as const)("rejects an invalid %s with 400 naming it: %j", ([field, change]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* lb.admin("POST", "/endpoints", { ...valid, name: "validation", ...change })
        expect(created.status).toBe(400)
        expect(created.body.message).toContain(field)
        const target = yield* lb.admin("POST", "/endpoints", { ...valid, name: `patch target ${field}` })
        const patched = yield* lb.admin("PATCH", `/endpoints/${target.body.id}`, change)
        expect(patched.status).toBe(400)
        expect(patched.body.message).toContain(field)
      }))

    it.effect("rejects a missing name or base_url, and a body that is not JSON", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const noName = yield* lb.admin("POST", "/endpoints", { base_url: valid.base_url })
        expect([noName.status, noName.body.message]).toEqual([400, expect.stringContaining("name")])
        const noUrl = yield* lb.admin("POST", "/endpoints", { name: "no-url" })
        expect([noUrl.status, noUrl.body.message]).toEqual([400, expect.stringContaining("base_url")])
        const garbage = yield* lb.admin("POST", "/endpoints", "{not json")
        expect(garbage.status).toBe(400)
      }))

    it.effect("patches only the given fields and can clear the api_key", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* lb.admin("POST", "/endpoints", { ...valid, name: "patch-me", api_key: SECRET, priority_order: 4 })
        const patched = yield* lb.admin("PATCH", `/endpoints/${created.body.id}`, { max_concurrent: 3, connected: true })
        expect(patched.status).toBe(200)
        expect(patched.body).toEqual({ ...created.body, max_concurrent: 3, connected: true })
        const cleared = yield* lb.admin("PATCH", `/endpoints/${created.body.id}`, { api_key: null, timeout: null })
        expect(cleared.body.api_key_preview).toBeNull()
        const empty = yield* lb.admin("PATCH", `/endpoints/${created.body.id}`, {})
        expect(empty.body).toEqual(cleared.body)
      }))

    it.effect("answers 409 for a duplicate name, ignoring case, on create and rename", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        yield* lb.admin("POST", "/endpoints", { ...valid, name: "Unique-One" })
        const duplicate = yield* lb.admin("POST", "/endpoints", { ...valid, name: "unique-one" })
        expect(duplicate.status).toBe(409)
        expect(duplicate.body.message).toContain("unique-one")
        const other = yield* lb.admin("POST", "/endpoints", { ...valid, name: "unique-two" })
        const rename = yield* lb.admin("PATCH", `/endpoints/${other.body.id}`, { name: "UNIQUE-ONE" })
        expect(rename.status).toBe(409)
        const keep = yield* lb.admin("PATCH", `/endpoints/${other.body.id}`, { name: "Unique-Two" })
        expect([keep.status, keep.body.name]).toEqual([200, "Unique-Two"])
      }))

    it.effect("deletes with 204, after which the id is unknown (404)", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* lb.admin("POST", "/endpoints", { ...valid, name: "short-lived" })
        const deleted = yield* lb.admin("DELETE", `/endpoints/${created.body.id}`)
        expect([deleted.status, deleted.body]).toEqual([204, undefined])
        for (const [method, body] of [["GET", undefined], ["PATCH", { enabled: false }], ["DELETE", undefined]] as const) {
          const response = yield* lb.admin(method, `/endpoints/${created.body.id}`, body)
          expect(response.status).toBe(404)
          expect(response.body.message).toContain(created.body.id)
        }
        expect((yield* lb.admin("GET", "/endpoints/not-a-uuid")).status).toBe(404)
      }))

    it.effect("stores SQL-looking names verbatim", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const name = "x'); DROP TABLE endpoints; --"
        const created = yield* lb.admin("POST", "/endpoints", { ...valid, name })
        expect((yield* lb.admin("GET", `/endpoints/${created.body.id}`)).body.name).toBe(name)
      }))
  })

  describe("routing and positions", () => {
    it.effect("switches the routing mode and rejects unknown modes", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        expect((yield* lb.admin("PATCH", "/routing", { mode: "priority" })).body).toEqual({ mode: "priority" })
        expect((yield* lb.admin("GET", "/state")).body.routing_mode).toBe("priority")
        const bad = yield* lb.admin("PATCH", "/routing", { mode: "random" })
        expect([bad.status, bad.body.message]).toEqual([400, expect.stringContaining("mode")])
        yield* lb.admin("PATCH", "/routing", { mode: "percentage" })
        expect((yield* lb.admin("GET", "/state")).body.routing_mode).toBe("percentage")
      }))

    it.effect("saves the incoming node position", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const saved = yield* lb.admin("PATCH", "/incoming-pos", { pos_x: 40.5, pos_y: -12 })
        expect(saved.body).toEqual({ pos_x: 40.5, pos_y: -12 })
        expect((yield* lb.admin("GET", "/state")).body.incoming_pos).toEqual({ pos_x: 40.5, pos_y: -12 })
        expect((yield* lb.admin("PATCH", "/incoming-pos", { pos_x: "left", pos_y: 0 })).status).toBe(400)
      }))
  })

  describe("system routes", () => {
    it.effect("serves the OpenAPI document of the admin API", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const doc = yield* lb.fetch("GET", "/admin/api/openapi.json")
        expect(doc.status).toBe(200)
        expect(Object.keys(doc.body.paths)).toEqual(
          expect.arrayContaining(["/admin/api/state", "/admin/api/endpoints", "/admin/api/endpoints/{eid}", "/admin/api/routing", "/admin/api/incoming-pos"])
        )
        expect(doc.body.info.version).toBe(pkg.version)
        // Every operation requires the X-Admin-Token apiKey ("security": [] would say none).
        const schemes = doc.body.components.securitySchemes
        const operations = Object.entries(doc.body.paths as Record<string, Record<string, any>>)
          .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ at: `${method} ${path}`, op })))
        expect(operations.length).toBeGreaterThanOrEqual(23)
        for (const { at, op } of operations) {
          // The event stream alone also takes a ticket (EventSource cannot send the header).
          const security = at === "get /admin/api/events" ? [{ adminToken: [] }, { ticket: [] }] : [{ adminToken: [] }]
          expect([at, op.security]).toEqual([at, security])
          expect([at, op.responses["401"]]).toEqual([at, expect.anything()])
        }
        expect(schemes.adminToken).toEqual({ type: "apiKey", name: "X-Admin-Token", in: "header" })
      }))

    it.effect("refuses every operation of the OpenAPI document without the token", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const doc = yield* lb.fetch("GET", "/admin/api/openapi.json")
        for (const [path, item] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
          for (const method of Object.keys(item)) {
            const target = path.replace(/\{[^}]+\}/g, "some-id")
            const response = yield* lb.fetch(method.toUpperCase(), target, method === "get" || method === "delete" ? {} : { body: {} })
            expect([method, target, response.status]).toEqual([method, target, 401])
          }
        }
      }))

    it.effect("puts the security headers on every response", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        for (const [method, path] of [["GET", "/health"], ["GET", "/admin/api/state"], ["GET", "/nowhere"], ["GET", "/"]]) {
          const response = yield* lb.fetch(method!, path!)
          expect(response.headers.get("x-content-type-options")).toBe("nosniff")
          expect(response.headers.get("x-frame-options")).toBe("DENY")
          expect(response.headers.get("referrer-policy")).toBe("no-referrer")
        }
      }))

    it.effect("redirects / to /admin", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const response = yield* Effect.promise(() => fetch(`${lb.url}/`, { redirect: "manual" }))
        expect([response.status, response.headers.get("location")]).toEqual([302, "/admin"])
      }))
  })
})

describe("health", () => {
  it.scopedLive("reports version, endpoint counts and routing mode without auth, on GET and HEAD", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      yield* lb.admin("POST", "/endpoints", { ...valid, name: "a", connected: true })
      yield* lb.admin("POST", "/endpoints", { ...valid, name: "b" })
      const health = yield* lb.fetch("GET", "/health")
      expect(health.status).toBe(200)
      expect(health.body).toMatchObject({ status: "ok", version: "3.1.0", endpoints: 2, connected: 1, routing_mode: "percentage" })
      const head = yield* Effect.promise(() => fetch(`${lb.url}/health`, { method: "HEAD" }))
      expect([head.status, yield* Effect.promise(() => head.text())]).toEqual([200, ""])
    }))
})

describe("persistence", () => {
  it.scopedLive("keeps endpoints, routing mode and incoming position across a restart on the same file", () =>
    Effect.gen(function*() {
      const dbPath = tempDbPath()
      const first = yield* Scope.make()
      const before = yield* startBalancer({}, dbPath).pipe(Scope.extend(first))
      const a = yield* before.admin("POST", "/endpoints", { ...valid, name: "kept-a", api_key: SECRET, token_quota_percent: 60 })
      yield* before.admin("POST", "/endpoints", { ...valid, name: "kept-b", connected: true })
      const gone = yield* before.admin("POST", "/endpoints", { ...valid, name: "gone" })
      yield* before.admin("PATCH", `/endpoints/${a.body.id}`, { max_concurrent: 5 })
      yield* before.admin("DELETE", `/endpoints/${gone.body.id}`)
      yield* before.admin("PATCH", "/routing", { mode: "priority" })
      yield* before.admin("PATCH", "/incoming-pos", { pos_x: 7, pos_y: 8 })
      const stateBefore = (yield* before.admin("GET", "/state")).body
      yield* Scope.close(first, Exit.void)

      const after = yield* startBalancer({}, dbPath)
      const stateAfter = (yield* after.admin("GET", "/state")).body
      expect(stateAfter).toEqual(stateBefore)
      expect(stateAfter.endpoints.map((e: any) => e.name)).toEqual(["kept-a", "kept-b"])
      expect(stateAfter.endpoints[0]).toMatchObject({ max_concurrent: 5, token_quota_percent: 60, api_key_preview: "sk-...ghij" })
    }))
})
