import { describe, expect, it, layer } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Context, Effect, FastCheck as fc, Layer } from "effect"
import { ADMIN_TOKEN, type Balancer, TestBalancer, tempDbPath } from "./support/Balancer.js"
import { spawnBalancer } from "./support/Process.js"
import { closedPort } from "./support/Sims.js"

describe("secrets", () => {
  const ADMIN = "hardening-admin-token-7b3e9d1f5a0c"
  const KEYS = {
    primary: "sk-upstream-primary-5f2b9c1e7d4a",
    replaced: "sk-upstream-replaced-0a8e4d6c3b9f",
    backup: "sk-upstream-backup-9c7a1e5f2d6b",
    dead: "sk-upstream-dead-4e1b7a9c3f5d"
  }
  const ENV_TOKENS = ["lbk-env-client-alpha-3e9f1c7b5a2d", "lbk-env-client-beta-8d2a6f4c1e7b"]
  const MANAGED = "lbk-managed-client-6c3e8a1f9b4d"

  it.scopedLive("never appear in a response or a log line: upstream API keys, client tokens, the admin token", () =>
    Effect.gen(function*() {
      const primary = yield* simScoped({ models: ["m1"], outputTokens: 3, apiKey: KEYS.primary, fault: { kind: "status", status: 500, every: 2 } })
      const backup = yield* simScoped({ models: ["m1"], outputTokens: 3, apiKey: KEYS.backup })
      const lb = yield* spawnBalancer({
        LB_DB_PATH: tempDbPath(),
        LB_ADMIN_TOKEN: ADMIN,
        LB_CLIENT_TOKENS: ENV_TOKENS.join(","),
        LB_LOG_LEVEL: "DEBUG"
      })
      const secrets = [...Object.values(KEYS), ...ENV_TOKENS, ADMIN, MANAGED]
      /** Every response: status, headers and body, as the client got them. */
      const seen: Array<string> = []
      const call = (
        method: string,
        path: string,
        options: { readonly body?: unknown; readonly headers?: Record<string, string>; readonly exempt?: boolean } = {}
      ) =>
        Effect.promise(async () => {
          const response = await fetch(lb.url + path, {
            method,
            headers: { "content-type": "application/json", ...options.headers },
            ...(options.body === undefined ? {} : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) })
          })
          const text = await response.text()
          if (!options.exempt) seen.push(`${response.status} ${JSON.stringify([...response.headers])}\n${text}`)
          return { status: response.status, json: () => JSON.parse(text) }
        })
      const admin = (method: string, path: string, body?: unknown, exempt = false) =>
        call(method, `/admin/api${path}`, { body, headers: { "x-admin-token": ADMIN }, exempt })
      const client = (token: string) => ({ authorization: `Bearer ${token}` })

      // Admin: endpoints with keys (one changed, one on a dead port), priority routing.
      const first = (yield* admin("POST", "/endpoints", { name: "primary", base_url: primary.baseUrl, api_key: KEYS.primary, connected: true })).json()
      const second = (yield* admin("POST", "/endpoints", { name: "backup", base_url: backup.baseUrl, api_key: KEYS.replaced, connected: true, priority_order: 1 })).json()
      yield* admin("PATCH", `/endpoints/${second.id}`, { api_key: KEYS.backup })
      const dead = (yield* admin("POST", "/endpoints", {
        name: "dead",
        base_url: `http://127.0.0.1:${yield* closedPort}/v1`,
        api_key: KEYS.dead,
        connected: true
      })).json()
      yield* admin("PATCH", "/routing", { mode: "priority" })

      // Managed client tokens, where the API has them: the creating response alone may show the secret.
      const openapi = (yield* admin("GET", "/openapi.json")).json()
      const tokenTraffic: Array<string> = []
      if ("/admin/api/tokens" in openapi.paths) {
        const given = yield* admin("POST", "/tokens", { name: "managed", token: MANAGED }, true)
        expect(given.status).toBe(201)
        const generated = (yield* admin("POST", "/tokens", { name: "generated" }, true)).json()
        secrets.push(generated.token)
        tokenTraffic.push(MANAGED, generated.token)
        yield* admin("PATCH", `/tokens/${generated.id}`, { name: "renamed" })
        yield* admin("GET", "/tokens")
        yield* admin("GET", `/tokens/${generated.id}`)
      }

      // Traffic: plain, streamed, failed over (the primary fails every second request, the dead one always), refused.
      const chat = { model: "m1", messages: [{ role: "user", content: "hello" }] }
      for (const token of [...ENV_TOKENS, ...tokenTraffic]) {
        for (let i = 0; i < 3; i++) {
          expect((yield* call("POST", "/v1/chat/completions", { body: chat, headers: client(token) })).status).toBe(200)
          expect((yield* call("POST", "/v1/chat/completions", { body: { ...chat, stream: true }, headers: client(token) })).status).toBe(200)
        }
        yield* call("POST", "/v1/embeddings", { body: { model: "m1", input: "x" }, headers: client(token) })
        yield* call("GET", "/v1/models", { headers: client(token) })
      }
      // No endpoint lists the model, but the dead one's list is unknown: it gets a try (502).
      expect((yield* call("POST", "/v1/chat/completions", { body: { ...chat, model: "nope" }, headers: client(ENV_TOKENS[0]!) })).status).toBe(502)
      expect((yield* call("POST", "/v1/chat/completions", { body: "{broken", headers: client(ENV_TOKENS[0]!) })).status).toBe(400)
      expect((yield* call("POST", "/v1/chat/completions", { body: chat })).status).toBe(401)
      expect((yield* call("POST", "/v1/chat/completions", { body: chat, headers: client(`${ENV_TOKENS[0]}x`) })).status).toBe(401)
      expect(primary.counters().faults).toBeGreaterThan(0)

      // Admin reads, the audit, an event stream for a second, metrics and health; then a cleared key.
      for (const path of ["/endpoints", `/endpoints/${first.id}`, "/state", "/incoming-blocks", "/audit"]) {
        expect((yield* admin("GET", path)).status).toBe(200)
      }
      const { ticket } = (yield* admin("POST", "/events/ticket")).json()
      seen.push(yield* Effect.promise(async () => {
        const controller = new AbortController()
        const response = await fetch(`${lb.url}/admin/api/events?ticket=${ticket}`, { signal: controller.signal })
        setTimeout(() => controller.abort(), 1_100)
        let text = `${response.status} ${JSON.stringify([...response.headers])}\n`
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
        for (;;) {
          // Ends when aborted after a second.
          const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }))
          if (chunk.done) return text
          text += chunk.value
        }
      }))
      expect(seen.at(-1)).toContain("data: {")
      yield* call("GET", "/metrics")
      yield* call("GET", "/health")
      yield* admin("PATCH", `/endpoints/${dead.id}`, { api_key: null })
      yield* admin("GET", "/audit")

      lb.child.kill("SIGTERM")
      expect(yield* Effect.promise(() => lb.exited)).toBe(0)

      // The keys were in use, and the logs were written.
      expect(primary.received().some((r) => r.headers.authorization === `Bearer ${KEYS.primary}`)).toBe(true)
      expect(backup.received().some((r) => r.headers.authorization === `Bearer ${KEYS.backup}`)).toBe(true)
      expect(lb.output()).toContain('"action":"endpoint.update"')
      const everything = [...seen, lb.output()]
      for (const secret of secrets) {
        // The middle too: a preview shows a few characters of each end, never more.
        for (const part of [secret, secret.slice(4, -4)]) {
          expect(everything.filter((text) => text.includes(part)).map((text) => text.slice(0, 300))).toEqual([])
        }
      }
    }))
})

/** An endpoint, a block and (where the API has them) a client token to aim PATCHes at. */
class Targets extends Context.Tag("Targets")<Targets, { readonly eid: string; readonly bid: string; readonly tid: string }>() {}

const TargetsLive = Layer.effect(
  Targets,
  Effect.gen(function*() {
    const lb = yield* TestBalancer
    const endpoint = yield* lb.admin("POST", "/endpoints", { name: "fuzz-target", base_url: "http://127.0.0.1:9/v1" })
    const block = yield* lb.admin("POST", "/incoming-blocks", { name: "fuzz-target" })
    const token = yield* lb.admin("POST", "/tokens", { name: "fuzz-target" })
    return { eid: endpoint.body.id, bid: block.body.id, tid: token.status === 201 ? token.body.id : "none" }
  })
)

interface Route {
  readonly method: "POST" | "PATCH"
  readonly path: (targets: Context.Tag.Service<Targets>) => string
  /** A payload the route accepts, to mutate. */
  readonly valid: Record<string, unknown>
  readonly fields: ReadonlyArray<string>
}

const endpointFields = ["name", "base_url", "api_key", "enabled", "connected", "token_quota_percent", "priority_order", "max_concurrent", "timeout", "verify_tls", "pos_x", "pos_y"]
const blockFields = ["name", "routing_mode", "enabled", "pos_x", "pos_y", "endpoint_ids"]
const tokenFields = ["name", "token", "enabled", "block_id", "rpm_limit", "tpm_limit"]

const routes: ReadonlyArray<Route> = [
  { method: "POST", path: () => "/endpoints", valid: { name: "fz", base_url: "http://127.0.0.1:9/v1" }, fields: endpointFields },
  { method: "PATCH", path: (t) => `/endpoints/${t.eid}`, valid: { priority_order: 1 }, fields: endpointFields },
  { method: "POST", path: () => "/incoming-blocks", valid: { name: "fz" }, fields: blockFields },
  { method: "PATCH", path: (t) => `/incoming-blocks/${t.bid}`, valid: { enabled: true }, fields: blockFields },
  { method: "PATCH", path: () => "/routing", valid: { mode: "priority" }, fields: ["mode"] },
  { method: "PATCH", path: () => "/incoming-pos", valid: { pos_x: 1, pos_y: 2 }, fields: ["pos_x", "pos_y"] },
  { method: "POST", path: () => "/tokens", valid: { name: "fz" }, fields: tokenFields },
  { method: "PATCH", path: (t) => `/tokens/${t.tid}`, valid: { rpm_limit: 10 }, fields: tokenFields }
]

/** JSON number spellings that JSON.stringify never writes: infinities, -0, beyond double precision. */
const RAW = ["1e999", "-1e999", "-0", "1e-999", "9007199254740993", "1E2", "0.0000001"]
const raw = fc.constantFrom(...RAW).map((text) => ({ $raw: text }))
const stringify = (value: unknown) => JSON.stringify(value).replace(/\{"\$raw":"([^"]*)"\}/g, "$1")

const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), raw, fc.string({ maxLength: 300 }), fc.constantFrom(null, true, "", " ", "fz"))

const mutated = fc.constantFrom(...routes).chain((route) =>
  fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom(...route.fields, "unknown_field", "__proto__", "constructor", "id"), value),
      fc.tuple(fc.constantFrom(...route.fields), fc.constant(undefined))
    ),
    { minLength: 1, maxLength: 3 }
  ).map((changes) => {
    let body: Record<string, unknown> = { ...route.valid }
    for (const [field, change] of changes) {
      if (change === undefined) delete body[field]
      // Spread with a computed key: an own "__proto__" property, as JSON.parse makes it.
      else body = { ...body, [field]: change }
    }
    return { route, body: stringify(body) }
  })
)

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-16",
  "APPLICATION/JSON",
  "text/plain",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "application/octet-stream"
]

const malformed = fc.record({
  route: fc.constantFrom(...routes),
  body: fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue().map((v) => stringify(v).slice(0, -1)),
    fc.constantFrom("", "{", "}", "[", "{\"name\":", "\u0000", "\ufeff{}", "{\"a\":1}{", "{'name':'x'}", "NaN", "undefined")
  ),
  contentType: fc.constantFrom(...CONTENT_TYPES)
})

/** Sends a fuzzed body; a 2xx or 4xx is fine, and a change must leave the state readable. */
const expectNo5xx = (lb: Balancer, method: string, path: string, body: string, contentType = "application/json") =>
  Effect.gen(function*() {
    const response = yield* lb.fetch(method, `/admin/api${path}`, {
      body,
      headers: { "x-admin-token": ADMIN_TOKEN, "content-type": contentType }
    })
    expect(response.status, `${method} ${path} ${contentType} ${body}\n${JSON.stringify(response.body)}`).toBeLessThan(500)
    expect(response.status).toBeGreaterThanOrEqual(200)
    if (response.status === 400) expect(typeof response.body.message).toBe("string")
    if (response.status < 300) expect((yield* lb.admin("GET", "/state")).status).toBe(200)
  })

const fuzzLayer = Layer.provideMerge(TargetsLive, TestBalancer.layer({ LB_ADMIN_RATE_LIMIT_RPM: "1000000" }))

layer(fuzzLayer)("admin payloads from fast-check", (it) => {
  it.effect.prop("any JSON value as a payload gets a 2xx or 4xx, never a 5xx", [fc.constantFrom(...routes), fc.jsonValue()], ([route, body]) =>
    Effect.gen(function*() {
      yield* expectNo5xx(yield* TestBalancer, route.method, route.path(yield* Targets), stringify(body))
    }), { fastCheck: { numRuns: 100 } })

  it.effect.prop("mutated valid payloads get a 2xx or 4xx, never a 5xx", [mutated], ([{ body, route }]) =>
    Effect.gen(function*() {
      yield* expectNo5xx(yield* TestBalancer, route.method, route.path(yield* Targets), body)
    }), { fastCheck: { numRuns: 200 } })

  it.effect.prop("malformed JSON and wrong content types never get a 5xx", [malformed], ([{ body, contentType, route }]) =>
    Effect.gen(function*() {
      yield* expectNo5xx(yield* TestBalancer, route.method, route.path(yield* Targets), body, contentType)
    }), { fastCheck: { numRuns: 100 } })
})
