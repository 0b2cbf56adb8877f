import { describe, expect, it, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect, Exit, Scope } from "effect"
import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { type Balancer, connectEndpoint, startBalancer, tempDbPath, TestBalancer } from "./support/Balancer.js"
import { generations } from "./support/Sims.js"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const GIVEN = "my-own-secret-0123456789abcdef"
const FIELDS = ["id", "name", "enabled", "block_id", "rpm_limit", "tpm_limit", "token_preview", "created_at", "last_used_at"]
const RATE_HEADERS = ["requests", "tokens"].flatMap((kind) => ["limit", "remaining", "reset"].map((part) => `x-ratelimit-${part}-${kind}`))

/** "hi" with max_tokens 2: 1 prompt and 2 completion tokens at the simulator. */
const chatBody = { model: "m1", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }

let counter = 0
/** A name no other test uses (tests share one balancer). */
const fresh = (prefix: string) => `${prefix}-${++counter}`

const createToken = (lb: Balancer, body: Record<string, unknown>) =>
  lb.admin("POST", "/tokens", body).pipe(
    Effect.tap((r) => r.status === 201 ? Effect.void : Effect.die(new Error(`create failed: ${JSON.stringify(r.body)}`))),
    Effect.map((r) => r.body)
  )

const createBlock = (lb: Balancer, body: Record<string, unknown>) =>
  lb.admin("POST", "/incoming-blocks", body).pipe(Effect.map((r) => r.body))

const bearer = (token: string | undefined) => (token === undefined ? {} : { authorization: `Bearer ${token}` })

const chat = (lb: Balancer, token?: string, body: Record<string, unknown> = chatBody, path = "/v1/chat/completions") =>
  lb.fetch("POST", path, { body, headers: bearer(token) })

const models = (lb: Balancer, token?: string) => lb.fetch("GET", "/v1/models", { headers: bearer(token) })

const rateHeaders = (headers: Headers) =>
  Object.fromEntries(RATE_HEADERS.flatMap((name) => (headers.has(name) ? [[name, headers.get(name)]] : [])))

/** A balancer with one simulator wired to `default`. */
const setup = (env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const upstream = yield* simScoped({ models: ["m1"], outputTokens: 6 })
    const lb = yield* startBalancer(env)
    const endpoint = yield* connectEndpoint(lb, upstream.baseUrl, { name: "sim-default" })
    return { upstream, lb, endpoint }
  })

layer(TestBalancer.layer())("client tokens API", (it) => {
  describe("create, read, update, delete", () => {
    it.effect("creates with 201, the documented defaults and a generated secret shown as token", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const response = yield* lb.admin("POST", "/tokens", { name: "defaults" })
        expect(response.status).toBe(201)
        const { id, token, created_at, ...rest } = response.body
        expect(Object.keys(response.body)).toEqual([...FIELDS, "token"])
        expect(id).toMatch(UUID)
        expect(token).toMatch(/^sk-lb-[A-Za-z0-9_-]{43}$/)
        expect(created_at).toMatch(ISO)
        expect(rest).toEqual({
          name: "defaults",
          enabled: true,
          block_id: null,
          rpm_limit: null,
          tpm_limit: null,
          token_preview: `sk-...${token.slice(-4)}`,
          last_used_at: null
        })
      }))

    it.effect("keeps a given secret and every field given, and reads it back by id without the secret", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const input = { name: "full", enabled: false, block_id: "default", rpm_limit: 60, tpm_limit: 100_000 }
        const created = yield* createToken(lb, { ...input, token: GIVEN })
        expect(created).toMatchObject({ ...input, token: GIVEN, token_preview: "my-...cdef" })
        const { token: _, ...shown } = created
        const read = yield* lb.admin("GET", `/tokens/${created.id}`)
        expect([read.status, read.body]).toEqual([200, shown])
      }))

    it.effect("lists the tokens in creation order, without secrets", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const names = [fresh("zz"), fresh("aa"), fresh("mm")]
        const created = []
        for (const name of names) created.push(yield* createToken(lb, { name }))
        const listed = (yield* lb.admin("GET", "/tokens")).body
        expect(listed.map((t: any) => t.name).filter((n: string) => names.includes(n))).toEqual(names)
        for (const token of listed) expect(Object.keys(token)).toEqual(FIELDS)
        for (const { token } of created) expect(JSON.stringify(listed)).not.toContain(token)
      }))

    it.effect("patches only the given fields, never showing the secret", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const { token, ...created } = yield* createToken(lb, { name: fresh("patch"), rpm_limit: 5 })
        const patched = yield* lb.admin("PATCH", `/tokens/${created.id}`, { enabled: false, tpm_limit: 900, rpm_limit: null })
        expect([patched.status, patched.body]).toEqual([200, { ...created, enabled: false, tpm_limit: 900, rpm_limit: null }])
        const empty = yield* lb.admin("PATCH", `/tokens/${created.id}`, {})
        expect(empty.body).toEqual(patched.body)
        expect(JSON.stringify([patched.body, empty.body])).not.toContain(token)
      }))

    it.effect("deletes with 204, after which the id is unknown (404)", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* createToken(lb, { name: fresh("short-lived") })
        const deleted = yield* lb.admin("DELETE", `/tokens/${created.id}`)
        expect([deleted.status, deleted.body]).toEqual([204, undefined])
        expect((yield* lb.admin("GET", `/tokens/${created.id}`)).status).toBe(404)
        expect((yield* lb.admin("GET", "/tokens")).body.map((t: any) => t.id)).not.toContain(created.id)
      }))

    it.effect.each([
      ["GET", undefined],
      ["PATCH", { enabled: false }],
      ["DELETE", undefined]
    ] as const)("answers 404 naming the id to %s of an unknown token", ([method, body]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const id = crypto.randomUUID()
        const response = yield* lb.admin(method, `/tokens/${id}`, body)
        expect([response.status, response.body.message]).toEqual([404, expect.stringContaining(id)])
      }))

    it.effect("requires the admin token", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        expect((yield* lb.fetch("GET", "/admin/api/tokens")).status).toBe(401)
        expect((yield* lb.fetch("POST", "/admin/api/tokens", { body: { name: "sneaky" } })).status).toBe(401)
      }))

    it.effect("is in the OpenAPI document", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const doc = yield* lb.fetch("GET", "/admin/api/openapi.json")
        expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/admin/api/tokens", "/admin/api/tokens/{tid}"]))
      }))
  })

  describe("validation", () => {
    it.effect("answers 409 for a duplicate name (any case) on create and rename", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const taken = fresh("Taken")
        yield* createToken(lb, { name: taken })
        const duplicate = yield* lb.admin("POST", "/tokens", { name: taken.toLowerCase() })
        expect([duplicate.status, duplicate.body.message]).toEqual([409, expect.stringContaining(taken.toLowerCase())])
        const other = yield* createToken(lb, { name: fresh("other") })
        expect((yield* lb.admin("PATCH", `/tokens/${other.id}`, { name: taken })).status).toBe(409)
        const keep = yield* lb.admin("PATCH", `/tokens/${other.id}`, { name: other.name, enabled: false })
        expect([keep.status, keep.body.enabled]).toEqual([200, false])
      }))

    it.effect("answers 409 for a secret another token has", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const secret = `${fresh("shared-secret")}-0123456789`
        yield* createToken(lb, { name: fresh("first"), token: secret })
        const second = yield* lb.admin("POST", "/tokens", { name: fresh("second"), token: secret })
        expect([second.status, second.body.message]).toEqual([409, expect.stringContaining("token")])
        expect(JSON.stringify(second.body)).not.toContain(secret)
      }))

    it.effect.each([
      ["name", { name: "" }],
      ["name", { name: "x".repeat(101) }],
      ["name", { name: "tab\there" }],
      ["name", { name: 42 }],
      ["token", { token: "fifteen-chars-x" }],
      ["token", { token: "has a space in the middle" }],
      ["token", { token: "non-ascii-é-0123456789" }],
      ["token", { token: 1234567890123456 }],
      ["enabled", { enabled: "yes" }],
      ["block_id", { block_id: 7 }],
      ["rpm_limit", { rpm_limit: 0 }],
      ["rpm_limit", { rpm_limit: -1 }],
      ["rpm_limit", { rpm_limit: 1.5 }],
      ["rpm_limit", { rpm_limit: "5" }],
      ["tpm_limit", { tpm_limit: 0 }],
      ["tpm_limit", { tpm_limit: 2_000_000_000 }],
      ["secret", { secret: "an unknown field" }]
    ] as const)("rejects a create with a bad %s (%j) with 400 naming it", ([field, fields]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const response = yield* lb.admin("POST", "/tokens", { name: fresh("bad"), ...fields })
        expect([response.status, response.body.message]).toEqual([400, expect.stringContaining(field)])
      }))

    it.effect.each([
      ["token", { token: "a-new-secret-0123456789" }],
      ["token_preview", { token_preview: "sk-...0000" }],
      ["name", { name: "" }],
      ["rpm_limit", { rpm_limit: 0 }],
      ["tpm_limit", { tpm_limit: 2.5 }],
      ["last_used_at", { last_used_at: null }]
    ] as const)("rejects a patch of %s (%j) with 400 naming it", ([field, fields]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* createToken(lb, { name: fresh("patch-bad") })
        const response = yield* lb.admin("PATCH", `/tokens/${created.id}`, fields)
        expect([response.status, response.body.message]).toEqual([400, expect.stringContaining(field)])
      }))

    it.effect("answers 400 naming block_id for an unknown block, on create and patch", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const unknown = crypto.randomUUID()
        const create = yield* lb.admin("POST", "/tokens", { name: fresh("unbound"), block_id: unknown })
        expect([create.status, create.body.message]).toEqual([400, expect.stringContaining("block_id")])
        expect(create.body.message).toContain(unknown)
        const token = yield* createToken(lb, { name: fresh("unbound") })
        const patch = yield* lb.admin("PATCH", `/tokens/${token.id}`, { block_id: unknown })
        expect([patch.status, patch.body.message]).toEqual([400, expect.stringContaining("block_id")])
        expect((yield* lb.admin("GET", `/tokens/${token.id}`)).body.block_id).toBeNull()
      }))
  })

  describe("audit", () => {
    it.effect("records each mutation with the secret redacted, and never the secret itself", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* createToken(lb, { name: fresh("audited"), token: `${GIVEN}-audited` })
        yield* lb.admin("PATCH", `/tokens/${created.id}`, { rpm_limit: 10 })
        yield* lb.admin("DELETE", `/tokens/${created.id}`)
        const entries = (yield* lb.admin("GET", "/audit?limit=1000")).body.filter((e: any) => e.target_id === created.id)
        expect(entries.map((e: any) => [e.action, e.target_type])).toEqual([
          ["token.delete", "token"],
          ["token.update", "token"],
          ["token.create", "token"]
        ])
        expect(entries[2].changes).toMatchObject({ name: { new: created.name }, token: { new: "[redacted]" } })
        expect(entries[1].changes).toEqual({ rpm_limit: { old: null, new: 10 } })
        expect(entries[0].changes).toMatchObject({ name: { old: created.name }, token_preview: { old: "my-...ited" } })
        expect(JSON.stringify(entries)).not.toContain(GIVEN)
      }))
  })
})

describe("the secret", () => {
  it.scopedLive("is stored only as its SHA-256 digest, and is in no later response", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const created = yield* createToken(lb, { name: "hashed", token: GIVEN })
      yield* lb.admin("PATCH", `/tokens/${created.id}`, { enabled: false })
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT * FROM client_tokens`).pipe(
        Effect.provide(SqliteClient.layer({ filename: lb.dbPath, readonly: true })),
        Effect.orDie
      )
      expect(rows).toEqual([expect.objectContaining({ id: created.id, token_hash: createHash("sha256").update(GIVEN).digest("hex") })])
      const files = [lb.dbPath, `${lb.dbPath}-wal`].filter(existsSync).map((file) => readFileSync(file).toString("latin1"))
      expect(files.join("").includes(GIVEN)).toBe(false)
      expect(files.join("").includes("hashed")).toBe(true)

      const later = yield* Effect.all([
        lb.admin("GET", "/tokens"),
        lb.admin("GET", `/tokens/${created.id}`),
        lb.admin("GET", "/state"),
        lb.admin("GET", "/audit")
      ])
      for (const response of later) expect(JSON.stringify(response.body)).not.toContain(GIVEN)
    }))
})

describe("client authentication with managed tokens", () => {
  it.scopedLive("accepts an enabled token on /v1 and refuses unknown ones with 401", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      const { token } = yield* createToken(lb, { name: "app" })
      expect((yield* chat(lb, token)).status).toBe(200)
      expect((yield* models(lb, token)).body.data.map((m: any) => m.id)).toEqual(["m1"])
      for (const wrong of [undefined, "sk-lb-wrong-0123456789", token.slice(0, -1)]) {
        const refused = yield* chat(lb, wrong)
        expect([refused.status, refused.body.error.code]).toEqual([401, "invalid_api_key"])
      }
      expect(generations(upstream)).toBe(1)
    }))

  it.scopedLive("refuses a disabled or deleted token from the next request on", () =>
    Effect.gen(function*() {
      const { lb } = yield* setup()
      // Another token keeps the API closed once this one is gone.
      yield* createToken(lb, { name: "keeper" })
      const created = yield* createToken(lb, { name: "revocable" })
      expect((yield* chat(lb, created.token)).status).toBe(200)
      yield* lb.admin("PATCH", `/tokens/${created.id}`, { enabled: false })
      expect((yield* chat(lb, created.token)).status).toBe(401)
      yield* lb.admin("PATCH", `/tokens/${created.id}`, { enabled: true })
      expect((yield* chat(lb, created.token)).status).toBe(200)
      yield* lb.admin("DELETE", `/tokens/${created.id}`)
      expect((yield* chat(lb, created.token)).status).toBe(401)
    }))

  it.scopedLive("keeps LB_CLIENT_TOKENS working beside managed tokens", () =>
    Effect.gen(function*() {
      const { lb } = yield* setup({ LB_CLIENT_TOKENS: "env-token-0123456789" })
      expect((yield* chat(lb)).status).toBe(401)
      expect((yield* chat(lb, "env-token-0123456789")).status).toBe(200)
      const { token } = yield* createToken(lb, { name: "managed" })
      expect((yield* chat(lb, token)).status).toBe(200)
      expect((yield* chat(lb, "env-token-0123456789")).status).toBe(200)
      const clash = yield* lb.admin("POST", "/tokens", { name: "clash", token: "env-token-0123456789" })
      expect(clash.status).toBe(409)
    }))

  it.scopedLive("leaves the API open only while no token exists anywhere, enabled or not", () =>
    Effect.gen(function*() {
      const { lb } = yield* setup()
      expect((yield* chat(lb)).status).toBe(200)
      const disabled = yield* createToken(lb, { name: "dormant", enabled: false })
      expect((yield* chat(lb)).status).toBe(401)
      expect((yield* models(lb)).status).toBe(401)
      expect((yield* chat(lb, disabled.token)).status).toBe(401)
      yield* lb.admin("DELETE", `/tokens/${disabled.id}`)
      expect((yield* chat(lb)).status).toBe(200)
    }))
})

describe("block binding", () => {
  /** `default` wired to one simulator, block `team` to another that also serves `m2`. */
  const bound = Effect.gen(function*() {
    const { lb, upstream: atDefault } = yield* setup()
    const atTeam = yield* simScoped({ models: ["m1", "m2"], outputTokens: 6 })
    const teamEndpoint = yield* connectEndpoint(lb, atTeam.baseUrl, { name: "sim-team", connected: false })
    const team = yield* createBlock(lb, { name: "team", endpoint_ids: [teamEndpoint.id] })
    const member = yield* createToken(lb, { name: "member", block_id: team.id })
    const outsider = yield* createToken(lb, { name: "outsider" })
    return { lb, atDefault, atTeam, team, member, outsider }
  })

  it.scopedLive("sends a bound token's requests to its block's endpoints, whatever the path", () =>
    Effect.gen(function*() {
      const { atDefault, atTeam, lb, member, outsider } = yield* bound
      for (const path of ["/v1/chat/completions", "/v1/default/chat/completions", "/v1/other/chat/completions"]) {
        const response = yield* chat(lb, member.token, chatBody, path)
        expect([path, response.status, response.headers.get("x-lb-endpoint")]).toEqual([path, 200, "sim-team"])
      }
      expect((yield* models(lb, member.token)).body.data.map((m: any) => m.id)).toEqual(["m1", "m2"])
      const unbound = yield* chat(lb, outsider.token)
      expect(unbound.headers.get("x-lb-endpoint")).toBe("sim-default")
      expect((yield* chat(lb, outsider.token, chatBody, "/v1/team/chat/completions")).headers.get("x-lb-endpoint")).toBe("sim-team")
      expect([generations(atTeam), generations(atDefault)]).toEqual([4, 1])
    }))

  it.scopedLive("follows a rebinding at once, and gets 503 from a disabled bound block (no fall-back)", () =>
    Effect.gen(function*() {
      const { lb, member, team } = yield* bound
      yield* lb.admin("PATCH", `/tokens/${member.id}`, { block_id: "default" })
      expect((yield* chat(lb, member.token)).headers.get("x-lb-endpoint")).toBe("sim-default")
      yield* lb.admin("PATCH", `/tokens/${member.id}`, { block_id: team.id })
      yield* lb.admin("PATCH", `/incoming-blocks/${team.id}`, { enabled: false })
      const refused = yield* chat(lb, member.token)
      expect([refused.status, refused.body.error.code]).toEqual([503, "no_endpoint_available"])
    }))

  it.scopedLive("keeps a block that tokens are bound to from being deleted (409)", () =>
    Effect.gen(function*() {
      const { lb, member, team } = yield* bound
      const refused = yield* lb.admin("DELETE", `/incoming-blocks/${team.id}`)
      expect([refused.status, refused.body.message]).toEqual([409, expect.stringContaining('"member"')])
      expect((yield* lb.admin("GET", `/incoming-blocks/${team.id}`)).status).toBe(200)
      expect((yield* chat(lb, member.token)).headers.get("x-lb-endpoint")).toBe("sim-team")
      yield* lb.admin("PATCH", `/tokens/${member.id}`, { block_id: null })
      expect((yield* lb.admin("DELETE", `/incoming-blocks/${team.id}`)).status).toBe(204)
    }))
})

describe("rate limits", () => {
  it.scopedLive("refuses a request over rpm_limit with 429, Retry-After and the x-ratelimit-*-requests headers", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      const { token } = yield* createToken(lb, { name: "rpm", rpm_limit: 2 })
      const first = yield* chat(lb, token)
      expect([first.status, rateHeaders(first.headers)]).toEqual([200, {
        "x-ratelimit-limit-requests": "2",
        "x-ratelimit-remaining-requests": "1",
        "x-ratelimit-reset-requests": "0s"
      }])
      const second = yield* chat(lb, token)
      expect(second.status).toBe(200)
      expect(rateHeaders(second.headers)).toMatchObject({ "x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0" })
      expect(second.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+s|1m0s)$/)

      const refused = yield* chat(lb, token)
      expect(refused.status).toBe(429)
      expect(refused.body).toEqual({
        error: { message: expect.stringContaining("requests per minute"), type: "rate_limit_error", param: null, code: "rate_limit_exceeded" }
      })
      const retryAfter = Number(refused.headers.get("retry-after"))
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true)
      expect(rateHeaders(refused.headers)).toMatchObject({ "x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0" })
      expect(Object.keys(rateHeaders(refused.headers))).toHaveLength(3)
      expect(generations(upstream)).toBe(2)
    }))

  it.scopedLive("holds each request's estimate from admission, and refuses one whose estimate no longer fits", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      const { token } = yield* createToken(lb, { name: "tpm", tpm_limit: 5 })
      // Estimated at 1 prompt + max_tokens 2; each uses 1 prompt + 2 completion tokens.
      const first = yield* chat(lb, token)
      expect([first.status, rateHeaders(first.headers)]).toEqual([200, {
        "x-ratelimit-limit-tokens": "5",
        "x-ratelimit-remaining-tokens": "2",
        "x-ratelimit-reset-tokens": "0s"
      }])
      const refused = yield* chat(lb, token)
      expect([refused.status, refused.body.error.type, refused.body.error.code]).toEqual([429, "rate_limit_error", "rate_limit_exceeded"])
      expect(refused.body.error.message).toContain("tokens per minute of this client token (limit 5, used 3, requested 3)")
      expect(rateHeaders(refused.headers)).toMatchObject({ "x-ratelimit-limit-tokens": "5", "x-ratelimit-remaining-tokens": "2" })
      expect(refused.headers.get("x-ratelimit-reset-tokens")).toMatch(/^(\d+s|1m0s)$/)
      const retryAfter = Number(refused.headers.get("retry-after"))
      expect(retryAfter >= 1 && retryAfter <= 60).toBe(true)
      // max_tokens 1: 1 + 1 fits in what is left.
      const small = yield* chat(lb, token, { ...chatBody, max_tokens: 1 })
      expect([small.status, small.headers.get("x-ratelimit-remaining-tokens")]).toEqual([200, "0"])
      expect(generations(upstream)).toBe(2)
    }))

  it.scopedLive("lets a request estimated above the whole limit run alone, and counts its streamed usage", () =>
    Effect.gen(function*() {
      const { lb } = yield* setup()
      const { token } = yield* createToken(lb, { name: "tpm-stream", tpm_limit: 7 })
      // Estimated at 1 + 8 > 7: it holds the whole limit. It uses 1 prompt + 6 completion tokens.
      const streamed = yield* chat(lb, token, { ...chatBody, max_tokens: 8, stream: true })
      expect([streamed.status, streamed.headers.get("x-ratelimit-remaining-tokens")]).toEqual([200, "0"])
      expect(streamed.headers.get("content-type")).toContain("text/event-stream")
      const refused = yield* chat(lb, token, { ...chatBody, max_tokens: 0 })
      expect([refused.status, refused.headers.get("x-ratelimit-remaining-tokens")]).toEqual([429, "0"])
    }))

  it.scopedLive("keeps what was used in the minute when a limit changes", () =>
    Effect.gen(function*() {
      const { lb } = yield* setup()
      const created = yield* createToken(lb, { name: "raised", rpm_limit: 1 })
      expect((yield* chat(lb, created.token)).status).toBe(200)
      expect((yield* chat(lb, created.token)).status).toBe(429)
      yield* lb.admin("PATCH", `/tokens/${created.id}`, { rpm_limit: 2 })
      const allowed = yield* chat(lb, created.token)
      expect([allowed.status, allowed.headers.get("x-ratelimit-remaining-requests")]).toEqual([200, "0"])
      expect((yield* chat(lb, created.token)).status).toBe(429)
      yield* lb.admin("PATCH", `/tokens/${created.id}`, { rpm_limit: null })
      const unlimited = yield* chat(lb, created.token)
      expect([unlimited.status, rateHeaders(unlimited.headers)]).toEqual([200, {}])
    }))

  it.scopedLive("sends no x-ratelimit headers for unlimited tokens or the open API", () =>
    Effect.gen(function*() {
      const open = (yield* setup()).lb
      expect(rateHeaders((yield* chat(open)).headers)).toEqual({})
      const { lb } = yield* setup({ LB_CLIENT_TOKENS: "env-token-0123456789" })
      const { token } = yield* createToken(lb, { name: "free" })
      for (const secret of [token, "env-token-0123456789"]) {
        const response = yield* chat(lb, secret)
        expect([response.status, rateHeaders(response.headers)]).toEqual([200, {}])
      }
    }))
})

describe("last_used_at", () => {
  it.scopedLive("is set when a token is used and kept across a restart", () =>
    Effect.gen(function*() {
      const dbPath = tempDbPath()
      const first = yield* Scope.make()
      const upstream = yield* simScoped({ models: ["m1"] })
      const before = yield* startBalancer({}, dbPath).pipe(Scope.extend(first))
      yield* connectEndpoint(before, upstream.baseUrl)
      const created = yield* createToken(before, { name: "used" })
      const idle = yield* createToken(before, { name: "idle" })
      const sentAt = Date.now()
      expect((yield* chat(before, created.token)).status).toBe(200)
      const used = (yield* before.admin("GET", `/tokens/${created.id}`)).body.last_used_at
      expect(used).toMatch(ISO)
      expect(Date.parse(used)).toBeGreaterThanOrEqual(sentAt - 1)
      expect(Date.parse(used)).toBeLessThanOrEqual(Date.now())
      yield* Scope.close(first, Exit.void)

      const after = yield* startBalancer({}, dbPath)
      const tokens = (yield* after.admin("GET", "/tokens")).body
      expect(tokens.map((t: any) => [t.name, t.last_used_at])).toEqual([["used", used], ["idle", null]])
      expect(tokens[1].id).toBe(idle.id)
      expect((yield* chat(after)).status).toBe(401)
    }))
})
