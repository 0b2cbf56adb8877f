/**
 * The admin session against the real, built balancer (dist/main.js): sign-in, the token header, 401
 * handling and how failures are mapped for forms.
 */
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { describe, expect, it } from "@effect/vitest"
import { Endpoint } from "@llmlb/core"
import { Effect, Schema } from "effect"
import { spawnBalancer } from "../../balancer/test/support/Process.js"
import { ApiError, createAdminSession, TOKEN_STORAGE_KEY, toApiError } from "../src/api/index.js"
import { editorApi } from "../src/editor/store/AdminSession.js"
import { memoryStorage } from "./api-support.js"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const ADMIN_TOKEN = "web-admin-token-0123456789"
const tempDb = () => join(mkdtempSync(join(tmpdir(), "web-api-")), "lb.db")
/** A client token as the create form sends it (the schema's defaults are the payload type's required fields). */
const newToken = (fields: Partial<{ name: string; block_id: string | null; rpm_limit: number | null }> = {}) => ({
  name: "ci",
  enabled: true,
  block_id: null,
  rpm_limit: null,
  tpm_limit: null,
  ...fields
})
const balancer = () => spawnBalancer({ LB_DB_PATH: tempDb(), LB_ADMIN_TOKEN: ADMIN_TOKEN })

/** The rejection of a promise, which must be an ApiError. */
const failure = (promise: Promise<unknown>) =>
  Effect.promise(() =>
    promise.then(
      () => {
        throw new Error("expected a failure")
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(ApiError)
        return error as ApiError
      }
    )
  )

describe("admin session", () => {
  it.scopedLive("signs in with the admin token, keeps it in sessionStorage and sends it on every call", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      const storage = memoryStorage()
      const session = createAdminSession(lb.url, { storage })
      expect(session.token()).toBeNull()
      const state = yield* Effect.promise(() => session.signIn(ADMIN_TOKEN))
      expect(state.routing_mode).toBe("percentage")
      expect(session.token()).toBe(ADMIN_TOKEN)
      expect(storage.items.get(TOKEN_STORAGE_KEY)).toBe(ADMIN_TOKEN)
      const created = yield* Effect.promise(() => session.call(session.client.tokens.create({ payload: newToken() })))
      const listed = yield* Effect.promise(() => session.call(session.client.tokens.list()))
      expect(listed.map((token) => token.id)).toEqual([created.id])
    }))

  it.scopedLive("a new session picks the token up from sessionStorage", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      const session = createAdminSession(lb.url, { storage: memoryStorage({ [TOKEN_STORAGE_KEY]: ADMIN_TOKEN }) })
      expect(session.token()).toBe(ADMIN_TOKEN)
      expect((yield* Effect.promise(() => session.call(session.client.state.get()))).endpoints).toEqual([])
    }))

  it.scopedLive("refuses a wrong token with the server's 401 message and stays signed out", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      const storage = memoryStorage()
      const session = createAdminSession(lb.url, { storage })
      const error = yield* failure(session.signIn("wrong-token-0123456789"))
      expect([error.status, error.message]).toEqual([401, "missing or invalid X-Admin-Token"])
      expect(session.token()).toBeNull()
      expect(storage.items.size).toBe(0)
    }))

  it.scopedLive("a 401 from any call signs out and forgets the stored token", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      const storage = memoryStorage({ [TOKEN_STORAGE_KEY]: "a-stale-token-from-before-a-restart" })
      const session = createAdminSession(lb.url, { storage })
      expect(session.token()).not.toBeNull()
      const error = yield* failure(session.call(session.client.audit.list({ urlParams: { limit: 10 } })))
      expect(error.status).toBe(401)
      expect(session.token()).toBeNull()
      expect(storage.items.has(TOKEN_STORAGE_KEY)).toBe(false)
    }))

  it.scopedLive("a payload the schemas refuse is a 400 naming its field, before anything is sent", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      const session = createAdminSession(lb.url, { storage: memoryStorage({ [TOKEN_STORAGE_KEY]: ADMIN_TOKEN }) })
      const error = yield* failure(session.call(session.client.tokens.create({ payload: newToken({ rpm_limit: 0 }) })))
      expect(error.status).toBe(400)
      expect(error.field).toBe("rpm_limit")
      expect(error.message).toBe("rpm_limit must be null or between 1 and 1000000000")
      expect(error.about("rpm_limit")).toBe(true)
      expect(error.about("tpm_limit")).toBe(false)
      expect(yield* Effect.promise(() => session.call(session.client.audit.list({ urlParams: { limit: 10 } })))).toEqual([])
    }))

  it.scopedLive("the server's own 400 names its field, 409 and 404 carry the server's message", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      const session = createAdminSession(lb.url, { storage: memoryStorage({ [TOKEN_STORAGE_KEY]: ADMIN_TOKEN }) })
      const unbound = yield* failure(session.call(session.client.tokens.create({ payload: newToken({ block_id: "nope" }) })))
      expect([unbound.status, unbound.field, unbound.message]).toEqual([400, "block_id", "block_id: no incoming block with id nope"])

      // Decoding fills in the schema's defaults, which the payload type requires.
      const endpoint = Schema.decodeSync(Endpoint.EndpointCreate)({ name: "gpu-a", base_url: "http://127.0.0.1:9/v1" })
      yield* Effect.promise(() => session.call(session.client.endpoints.create({ payload: endpoint })))
      const duplicate = yield* failure(session.call(session.client.endpoints.create({ payload: { ...endpoint, name: "GPU-A" } })))
      expect([duplicate.status, duplicate.message]).toEqual([409, 'an endpoint named "GPU-A" already exists'])

      const missing = yield* failure(session.call(session.client.tokens.get({ path: { tid: "nope" } })))
      expect([missing.status, missing.message]).toEqual([404, "client token nope not found"])
    }))

  it.scopedLive("the server's schema 400 (HttpApiDecodeError) maps to its first field and message", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      // The typed client never sends such a body: post it raw and map the server's answer.
      const response = yield* Effect.promise(() =>
        fetch(`${lb.url}/admin/api/endpoints`, {
          method: "POST",
          headers: { "x-admin-token": ADMIN_TOKEN, "content-type": "application/json" },
          body: JSON.stringify({ name: "q", base_url: "http://127.0.0.1:9/v1", token_quota_percent: 101 })
        }).then(async (r) => ({ status: r.status, body: await r.json() }))
      )
      expect(response.status).toBe(400)
      const decoded = Schema.decodeUnknownSync(HttpApiDecodeError)(response.body)
      const error = yield* toApiError(decoded)
      expect([error.status, error.field, error.message]).toEqual([400, "token_quota_percent", "token_quota_percent must be between 0 and 100"])
    }))

  it.scopedLive("the editor's creates fill in what is not given exactly as the server does", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      const api = editorApi(createAdminSession(lb.url, { storage: memoryStorage({ [TOKEN_STORAGE_KEY]: ADMIN_TOKEN }) }))
      // A raw POST with the required fields only: the server applies its own defaults.
      const raw = (path: string, body: object) =>
        Effect.promise(() =>
          fetch(`${lb.url}/admin/api/${path}`, {
            method: "POST",
            headers: { "x-admin-token": ADMIN_TOKEN, "content-type": "application/json" },
            body: JSON.stringify(body)
          }).then((r) => r.json() as Promise<Record<string, unknown>>)
        )
      const base_url = "http://127.0.0.1:9/v1"
      const { id: _a, name: _b, ...byEditor } = yield* Effect.promise(() => api.createEndpoint({ name: "by-editor", base_url }))
      const { id: _c, name: _d, ...byServer } = yield* raw("endpoints", { name: "by-server", base_url })
      expect(byEditor).toEqual(byServer)
      const { id: _e, name: _f, ...blockByEditor } = yield* Effect.promise(() => api.createBlock({ name: "edited" }))
      const { id: _g, name: _h, ...blockByServer } = yield* raw("incoming-blocks", { name: "served" })
      expect(blockByEditor).toEqual(blockByServer)
    }))

  it.scopedLive("an unreachable balancer is status 0 and does not sign out", () =>
    Effect.gen(function*() {
      const lb = yield* balancer()
      const session = createAdminSession(lb.url, { storage: memoryStorage({ [TOKEN_STORAGE_KEY]: ADMIN_TOKEN }) })
      lb.child.kill("SIGKILL")
      yield* Effect.promise(() => lb.exited)
      const error = yield* failure(session.call(session.client.state.get()))
      expect(error.status).toBe(0)
      expect(error.message).toMatch(/^cannot reach the balancer/)
      expect(session.token()).toBe(ADMIN_TOKEN)
    }))
})
