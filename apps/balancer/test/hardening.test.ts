import { describe, expect, it, layer } from "@effect/vitest"
import { MAX_JSON_DEPTH } from "@llmlb/core"
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
    }), 60_000)
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
    }), { timeout: 60_000, fastCheck: { numRuns: 100 } })

  it.effect.prop("mutated valid payloads get a 2xx or 4xx, never a 5xx", [mutated], ([{ body, route }]) =>
    Effect.gen(function*() {
      yield* expectNo5xx(yield* TestBalancer, route.method, route.path(yield* Targets), body)
    }), { timeout: 60_000, fastCheck: { numRuns: 200 } })

  it.effect.prop("malformed JSON and wrong content types never get a 5xx", [malformed], ([{ body, contentType, route }]) =>
    Effect.gen(function*() {
      yield* expectNo5xx(yield* TestBalancer, route.method, route.path(yield* Targets), body, contentType)
    }), { timeout: 60_000, fastCheck: { numRuns: 100 } })
})

// -------------------------------------------------------------------------------------------------
// Hostile bodies: nesting thousands of levels deep, huge numbers, long strings, invalid UTF-8,
// duplicate keys and prototype keys, on every admin route and on /v1/*. Each gets a 4xx with a JSON
// body saying why (OpenAI's shape on /v1), or, where it is harmless, the answer a sane body gets.

type Hostility = "deep" | "number" | "long" | "prototype" | "plain"

/** A JSON value as raw text (so that it can be what JSON.stringify never writes), and what it is. */
interface RawValue {
  readonly text: string
  readonly kind: Hostility
}

const nested = (levels: number, shape: "array" | "object" | "mixed") =>
  shape === "array"
    ? "[".repeat(levels) + "]".repeat(levels)
    : shape === "object"
    ? "{\"a\":".repeat(levels) + "1" + "}".repeat(levels)
    : "{\"a\":[".repeat(Math.ceil(levels / 2)) + "1" + "]}".repeat(Math.ceil(levels / 2))

const hostileValue: fc.Arbitrary<RawValue> = fc.oneof(
  // Past the limit (a member of the body is one level in already), from just past it to 20,000 levels.
  fc.tuple(fc.integer({ min: MAX_JSON_DEPTH, max: 20_000 }), fc.constantFrom("array" as const, "object" as const, "mixed" as const))
    .map(([levels, shape]) => ({ text: nested(levels, shape), kind: "deep" as const })),
  // Within it: the limit is not refused early.
  fc.tuple(fc.integer({ min: 1, max: MAX_JSON_DEPTH - 2 }), fc.constantFrom("array" as const, "object" as const))
    .map(([levels, shape]) => ({ text: nested(levels, shape), kind: "plain" as const })),
  fc.constantFrom(...RAW, "1" + "0".repeat(400), "-1e309", "123456789012345678901234567890", "1e-400", "0.1e+309")
    .map((text) => ({ text, kind: "number" as const })),
  fc.tuple(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom("x", "é", "😀", "\\u0000", "\\\"", "\\ud800", "[{"))
    .map(([length, unit]) => ({ text: `"${unit.repeat(Math.ceil(length / unit.length))}"`, kind: "long" as const })),
  fc.constantFrom(
    "{\"__proto__\":{\"polluted\":\"yes\"}}",
    "{\"constructor\":{\"prototype\":{\"polluted\":\"yes\"}}}",
    "{\"prototype\":{\"polluted\":\"yes\"}}",
    "[{\"__proto__\":{\"polluted\":\"yes\"}}]"
  ).map((text) => ({ text, kind: "prototype" as const })),
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ text: stringify(value), kind: "plain" as const }))
)

const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"]

/** A body: a valid payload's members, then hostile ones; a key may come twice. */
interface HostileBody {
  readonly text: string
  readonly members: ReadonlyArray<readonly [string, RawValue]>
}

const hostileBody = (valid: Record<string, unknown>, keys: ReadonlyArray<string>): fc.Arbitrary<HostileBody> =>
  fc.array(fc.tuple(fc.constantFrom(...keys, ...Object.keys(valid), ...PROTOTYPE_KEYS, "x_unknown"), hostileValue), { minLength: 1, maxLength: 3 })
    .map((extra) => {
      const members = [
        ...Object.entries(valid).map(([key, value]) => [key, { text: stringify(value), kind: "plain" as const }] as const),
        ...extra
      ]
      return { members, text: `{${members.map(([key, value]) => `${JSON.stringify(key)}:${value.text}`).join(",")}}` }
    })

/** What the balancer itself must refuse in a body, in the order it checks; undefined when the body is left to the route. */
const refusalOf = (body: HostileBody): string | undefined => {
  if (body.members.some(([, value]) => value.kind === "deep")) return `nests deeper than ${MAX_JSON_DEPTH} levels`
  const keys = body.members.map(([key]) => key)
  return new Set(keys).size < keys.length ? "more than once" : undefined
}

/** Invalid UTF-8: a lone continuation byte, an overlong "/", a surrogate, a cut sequence, bytes no UTF-8 has. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80]]

/** `text` with the invalid bytes in place of its first `\u0001` (inside a string value). */
const withInvalidBytes = (text: string, bytes: ReadonlyArray<number>) => {
  const [before, after] = text.split("\u0001") as [string, string]
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)])
}

/** A valid payload plus a string field that holds the invalid bytes. */
const invalidUtf8Payload = (valid: Record<string, unknown>, field: string, bytes: ReadonlyArray<number>) =>
  withInvalidBytes(JSON.stringify({ ...valid, [field]: "a\u0001b" }).replace("\\u0001", "\u0001"), bytes)

/** A raw request to the in-process balancer; the body as JSON when it parses, else its text. */
const rawFetch = (lb: Balancer, method: string, path: string, body: string | Buffer, headers: Record<string, string>) =>
  Effect.promise(async () => {
    const response = await fetch(lb.url + path, {
      method,
      body: typeof body === "string" ? body : new Uint8Array(body),
      headers: { "content-type": "application/json", ...headers }
    })
    const text = await response.text()
    let json: any = text
    try {
      json = JSON.parse(text)
    } catch {
      // an SSE stream or an empty answer: kept as text
    }
    return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: json }
  })

const adminHeaders = { "x-admin-token": ADMIN_TOKEN }

/** The admin answer to a hostile payload: never a 5xx; a 4xx says why in `message`; `refusal` when the balancer must refuse. */
const expectAdminAnswer = (lb: Balancer, method: string, path: string, body: string | Buffer, refusal: string | undefined) =>
  Effect.gen(function*() {
    const response = yield* rawFetch(lb, method, path, body, adminHeaders)
    const context = `${method} ${path} ${String(body).slice(0, 300)}\n${JSON.stringify(response.body).slice(0, 300)}`
    expect(response.status, context).toBeGreaterThanOrEqual(200)
    expect(response.status, context).toBeLessThan(500)
    if (response.status >= 400) {
      expect(response.contentType, context).toContain("application/json")
      expect(typeof response.body.message, context).toBe("string")
    }
    if (refusal !== undefined) {
      expect(response.status, context).toBe(400)
      expect(response.body.message, context).toContain(refusal)
    }
    return response
  })

/** Routes that take no payload ignore a body; they must not fail on one either. */
const payloadlessRoutes = ["/reset-stats", "/cache/clear", "/events/ticket"]

layer(fuzzLayer)("hostile admin payloads", (it) => {
  it.effect.prop(
    "nesting, huge numbers, long strings, duplicate and prototype keys get a 4xx saying why, never a 5xx",
    [fc.constantFrom(...routes).chain((route) => fc.tuple(fc.constant(route), hostileBody(route.valid, route.fields)))],
    ([[route, body]]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const path = `/admin/api${route.path(yield* Targets)}`
        const refusal = refusalOf(body)
        const answer = yield* expectAdminAnswer(lb, route.method, path, body.text, refusal)
        // Every one of these routes refuses unknown and prototype keys (400; the message names the first fault).
        const odd = body.members.some(([key]) => PROTOTYPE_KEYS.includes(key) || key === "x_unknown")
        if (odd) expect(answer.status).toBe(400)
      }),
    { timeout: 180_000, fastCheck: { numRuns: 100 } }
  )

  it.effect.prop(
    "invalid UTF-8 gets a 400 saying so, on every route that takes a payload",
    [fc.constantFrom(...routes), fc.constantFrom(...INVALID_UTF8)],
    ([route, bytes]) =>
      Effect.gen(function*() {
        const path = `/admin/api${route.path(yield* Targets)}`
        yield* expectAdminAnswer(yield* TestBalancer, route.method, path, invalidUtf8Payload(route.valid, "note", bytes), "not valid UTF-8")
      }),
    { timeout: 60_000, fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "routes that take no payload ignore a hostile body without failing",
    [fc.constantFrom(...payloadlessRoutes), hostileBody({}, ["x"])],
    ([path, body]) =>
      Effect.gen(function*() {
        const response = yield* expectAdminAnswer(yield* TestBalancer, "POST", `/admin/api${path}`, body.text, undefined)
        expect(response.status).toBeLessThan(300)
      }),
    { timeout: 60_000, fastCheck: { numRuns: 30 } }
  )

  it.effect("reads a payload only after authentication: a hostile one without the admin token gets 401", () =>
    Effect.gen(function*() {
      const lb = yield* TestBalancer
      for (const body of [nested(50_000, "array"), withInvalidBytes("{\"name\":\"\u0001\"}", [0xff]), "{\"name\":\"a\",\"name\":\"b\"}"]) {
        const response = yield* rawFetch(lb, "POST", "/admin/api/endpoints", body, {})
        expect([response.status, typeof response.body.message]).toEqual([401, "string"])
      }
    }))
})

// The /v1 side: a real simulator behind the balancer, so that what the balancer lets through is judged
// by an upstream as a client would see it.

class Upstream extends Context.Tag("Upstream")<Upstream, { readonly received: () => ReadonlyArray<{ readonly body: unknown }> }>() {}

const v1Layer = Layer.scoped(
  Upstream,
  Effect.gen(function*() {
    const lb = yield* TestBalancer
    const sim = yield* simScoped({ models: ["m1"], outputTokens: 3 })
    yield* lb.admin("POST", "/endpoints", { name: "fuzz-sim", base_url: sim.baseUrl, connected: true })
    const block = yield* lb.admin("POST", "/incoming-blocks", { name: "fuzzpool" })
    const endpoints = (yield* lb.admin("GET", "/endpoints")).body as Array<{ id: string }>
    yield* lb.admin("PATCH", `/incoming-blocks/${block.body.id}`, { endpoint_ids: endpoints.map((e) => e.id) })
    return { received: () => sim.received() }
  })
).pipe(Layer.provideMerge(TestBalancer.layer()))

const chatBody = { model: "m1", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }
const v1Routes = [
  { path: "/v1/chat/completions", valid: chatBody },
  { path: "/v1/fuzzpool/chat/completions", valid: { ...chatBody, stream: true } },
  { path: "/v1/completions", valid: { model: "m1", prompt: "hi", max_tokens: 2 } },
  { path: "/v1/embeddings", valid: { model: "m1", input: "hi" } }
] as const
const V1_FIELDS = ["model", "messages", "prompt", "input", "max_tokens", "max_completion_tokens", "temperature", "stream", "stream_options", "seed", "user"]

/** The /v1 answer: never a 5xx; a 4xx in OpenAI's shape; `refusal` when the balancer must refuse. */
const expectV1Answer = (lb: Balancer, path: string, body: string | Buffer, refusal: string | undefined) =>
  Effect.gen(function*() {
    const response = yield* rawFetch(lb, "POST", path, body, {})
    const context = `${path} ${String(body).slice(0, 200)}\n${JSON.stringify(response.body).slice(0, 300)}`
    expect(response.status, context).toBeGreaterThanOrEqual(200)
    expect(response.status, context).toBeLessThan(500)
    if (response.status >= 400) {
      const { code, message, param, type } = response.body.error ?? {}
      expect(Object.keys(response.body.error ?? {}).sort(), context).toEqual(["code", "message", "param", "type"])
      expect([typeof message, typeof type], context).toEqual(["string", "string"])
      // An upstream's own error passes as it is: vLLM's `code` is the status, a number.
      expect([param === null || typeof param === "string", code === null || ["string", "number"].includes(typeof code)], context).toEqual([true, true])
    }
    if (refusal !== undefined) {
      expect(response.status, context).toBe(400)
      expect(response.body.error.message, context).toContain(refusal)
    }
    return response
  })

layer(v1Layer)("hostile /v1 bodies", (it) => {
  it.effect.prop(
    "nesting, huge numbers, long strings, duplicate and prototype keys get a 4xx in OpenAI's shape, never a 5xx",
    [fc.constantFrom(...v1Routes).chain((route) => fc.tuple(fc.constant(route), hostileBody(route.valid, V1_FIELDS)))],
    ([[route, body]]) =>
      Effect.gen(function*() {
        // The last "model" is the one JSON.parse keeps.
        const model = body.members.filter(([key]) => key === "model").at(-1)?.[1].text
        const longModel = model !== undefined && model.startsWith("\"") && JSON.parse(model).length > 256
        const refusal = refusalOf(body) ?? (longModel ? "model must be at most 256 characters" : undefined)
        yield* expectV1Answer(yield* TestBalancer, route.path, body.text, refusal)
      }),
    { timeout: 180_000, fastCheck: { numRuns: 100 } }
  )

  it.effect.prop(
    "invalid UTF-8 gets a 400 saying so",
    [fc.constantFrom(...v1Routes), fc.constantFrom(...INVALID_UTF8)],
    ([route, bytes]) =>
      Effect.gen(function*() {
        yield* expectV1Answer(yield* TestBalancer, route.path, invalidUtf8Payload(route.valid, "user", bytes), "not valid UTF-8")
      }),
    { timeout: 60_000, fastCheck: { numRuns: 30 } }
  )

  it.effect("a __proto__ key is a key like any other: it sets no prototype, so no field is read through it", () =>
    Effect.gen(function*() {
      const lb = yield* TestBalancer
      const messages = JSON.stringify(chatBody.messages)
      const hidden = yield* expectV1Answer(lb, "/v1/chat/completions", `{"__proto__":{"model":"m1"},"messages":${messages}}`, "You must provide a model")
      expect(hidden.body.error.param).toBe("model")
      const notStreamed = yield* expectV1Answer(lb, "/v1/chat/completions", `{"model":"m1","messages":${messages},"__proto__":{"stream":true}}`, undefined)
      expect([notStreamed.status, notStreamed.contentType]).toEqual([200, "application/json"])
      const admin = yield* rawFetch(lb, "POST", "/admin/api/endpoints", `{"name":"p","base_url":"http://127.0.0.1:9/v1","__proto__":{"connected":true}}`, adminHeaders)
      expect([admin.status, admin.body.message]).toEqual([400, expect.stringContaining("__proto__")])
    }))

  it.effect("leaves Object.prototype untouched after every hostile body above (balancer and simulator run in this process)", () =>
    Effect.sync(() => {
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted")
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.getPrototypeOf(Object.prototype)).toBeNull()
    }))
})
