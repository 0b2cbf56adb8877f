import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import OpenAI from "openai"
import { connectEndpoint, startBalancer } from "./support/Balancer.js"
import { pumpChunked } from "./support/RawHttp.js"
import { closedPort, generations } from "./support/Sims.js"

const messages = [{ role: "user" as const, content: "hi" }]
const chat = { model: "m1", messages, max_tokens: 2 }

const expectOpenAiError = (response: { status: number; body: any }, status: number, type: string, code: string | null) => {
  expect(response.status).toBe(status)
  expect(Object.keys(response.body)).toEqual(["error"])
  expect(Object.keys(response.body.error).sort()).toEqual(["code", "message", "param", "type"])
  expect(response.body.error).toMatchObject({ type, code })
  expect(response.body.error.message).toMatch(/\w/)
}

describe("client authentication", () => {
  it.scopedLive("requires one of LB_CLIENT_TOKENS as a bearer token when set", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer({ LB_CLIENT_TOKENS: "client-token-one, client-token-two" })
      yield* connectEndpoint(lb, upstream.baseUrl)
      for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: "Bearer " }, { authorization: "client-token-one" }]) {
        const response = yield* lb.fetch("POST", "/v1/chat/completions", { body: chat, headers })
        expectOpenAiError(response, 401, "authentication_error", "invalid_api_key")
      }
      expect((yield* lb.fetch("GET", "/v1/models")).status).toBe(401)
      expect(generations(upstream)).toBe(0)

      const sdk = new OpenAI({ baseURL: `${lb.url}/v1`, apiKey: "client-token-two", maxRetries: 0 })
      const answer = yield* Effect.promise(() => sdk.chat.completions.create(chat))
      expect(answer.choices[0]!.message.content).toBe(" tok1 tok2")
      const denied = new OpenAI({ baseURL: `${lb.url}/v1`, apiKey: "nope", maxRetries: 0 })
      const error = yield* Effect.promise(() => denied.chat.completions.create(chat).catch((e) => e))
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    }))

  it.scopedLive("is open when no token is configured", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl)
      expect((yield* lb.fetch("POST", "/v1/chat/completions", { body: chat })).status).toBe(200)
    }))
})

describe("errors in OpenAI's shape", () => {
  it.scopedLive("400 for a body that is not JSON, not an object, or has no model", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl)
      for (const body of ["{\"model\":", "[1,2]", "null", JSON.stringify({ messages }), JSON.stringify({ model: 7, messages }), JSON.stringify({ model: "", messages })]) {
        const response = yield* lb.fetch("POST", "/v1/chat/completions", { body })
        expectOpenAiError(response, 400, "invalid_request_error", null)
      }
      const missing = yield* lb.fetch("POST", "/v1/chat/completions", { body: { messages } })
      expect(missing.body.error.param).toBe("model")
      expect(generations(upstream)).toBe(0)
    }))

  it.scopedLive("413 for a body over LB_MAX_REQUEST_BODY_BYTES, declared or streamed, before it is all read", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer({ LB_MAX_REQUEST_BODY_BYTES: "1000" })
      yield* connectEndpoint(lb, upstream.baseUrl)
      const big = JSON.stringify({ model: "m1", messages: [{ role: "user", content: "x".repeat(2000) }] })
      expectOpenAiError(yield* lb.fetch("POST", "/v1/chat/completions", { body: big }), 413, "invalid_request_error", "request_too_large")

      // Chunked, no length declared: the 413 arrives while the client is still sending.
      const { status } = yield* pumpChunked(`${lb.url}/v1/chat/completions`, { "content-type": "application/json" })
      expect(status).toBe(413)
      const fits = yield* lb.fetch("POST", "/v1/chat/completions", { body: chat })
      expect(fits.status).toBe(200)
      expect(generations(upstream)).toBe(1)
    }))

  it.scopedLive("503 when no enabled endpoint is connected", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      expectOpenAiError(yield* lb.fetch("POST", "/v1/chat/completions", { body: chat }), 503, "api_error", "no_endpoint_available")
      yield* connectEndpoint(lb, upstream.baseUrl, { enabled: false })
      yield* connectEndpoint(lb, upstream.baseUrl, { connected: false })
      expectOpenAiError(yield* lb.fetch("POST", "/v1/chat/completions", { body: chat }), 503, "api_error", "no_endpoint_available")
    }))

  it.scopedLive("passes an upstream's own 4xx through with its body", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      const endpoint = yield* connectEndpoint(lb, upstream.baseUrl, { name: "strict" })
      const invalid = { ...chat, max_tokens: -5 }
      const direct = yield* Effect.promise(() =>
        fetch(`${upstream.baseUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(invalid) })
          .then(async (r) => ({ status: r.status, body: await r.json() }))
      )
      expect(direct.status).toBe(400)
      const relayed = yield* lb.fetch("POST", "/v1/chat/completions", { body: invalid })
      expect(relayed.status).toBe(400)
      expect(relayed.body).toEqual(direct.body)
      expect(relayed.headers.get("x-lb-endpoint")).toBe("strict")
      const state = (yield* lb.admin("GET", "/state")).body
      expect(state.endpoints.find((e: any) => e.id === endpoint.id).stats.failures).toBe(0)
    }))

  it.scopedLive("passes an upstream 5xx through and counts it as a failure; 429 keeps Retry-After", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 503 } })
      const lb = yield* startBalancer()
      const endpoint = yield* connectEndpoint(lb, upstream.baseUrl)
      const failed = yield* lb.fetch("POST", "/v1/chat/completions", { body: chat })
      expect(failed.status).toBe(503)
      expect(failed.body.error).toBeDefined()
      upstream.set({ fault: { kind: "status", status: 429, retryAfterSeconds: 7 } })
      const limited = yield* lb.fetch("POST", "/v1/chat/completions", { body: chat })
      expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "7"])
      const state = (yield* lb.admin("GET", "/state")).body
      expect(state.endpoints.find((e: any) => e.id === endpoint.id).stats).toMatchObject({ failures: 2, requests: 0 })
    }))

  it.scopedLive("wraps an upstream's HTML or text error in OpenAI's shape, keeping its status", () =>
    Effect.gen(function*() {
      const html = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<Http.Server>((resolve) => {
            const server = Http.createServer((req, res) => {
              req.resume()
              if (req.url === "/v1/models") return res.writeHead(404).end()
              const status = req.url === "/v1/completions" ? 404 : 502
              res.writeHead(status, { "content-type": "text/html" }).end("<html><body><h1>Bad Gateway</h1> nginx</body></html>")
            })
            server.listen(0, "127.0.0.1", () => resolve(server))
          })
        ),
        (server) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
      )
      const lb = yield* startBalancer({ LB_MAX_ATTEMPTS: "1" })
      yield* connectEndpoint(lb, `http://127.0.0.1:${(html.address() as AddressInfo).port}/v1`, { name: "behind-nginx" })
      const failed = yield* lb.fetch("POST", "/v1/chat/completions", { body: chat })
      expect(failed.status).toBe(502)
      expect(failed.headers.get("content-type")).toContain("application/json")
      expect(failed.body.error).toMatchObject({ type: "api_error", code: "upstream_error", param: null })
      expect(failed.body.error.message).toBe("Endpoint behind-nginx answered 502: Bad Gateway nginx")
      const notFound = yield* lb.fetch("POST", "/v1/completions", { body: { model: "m1", prompt: "x" } })
      expect(notFound.status).toBe(404)
      expect(notFound.body.error).toMatchObject({ type: "invalid_request_error", code: "upstream_error" })
    }))

  it.scopedLive("502 when the upstream cannot be reached", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, `http://127.0.0.1:${port}/v1`, { name: "gone" })
      const response = yield* lb.fetch("POST", "/v1/chat/completions", { body: chat })
      expectOpenAiError(response, 502, "api_error", "upstream_error")
      expect(response.body.error.message).toContain("gone")
    }))

  it.scopedLive("504 when the upstream sends no headers within the endpoint's timeout", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], fault: { kind: "hang" } })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl, { timeout: 0.3 })
      const started = Date.now()
      const response = yield* lb.fetch("POST", "/v1/chat/completions", { body: chat })
      expectOpenAiError(response, 504, "api_error", "upstream_timeout")
      expect(Date.now() - started).toBeLessThan(2_000)
    }))

  it.scopedLive("504 when a whole response takes longer than the timeout, even while chunks trickle in", () =>
    Effect.gen(function*() {
      // Non-streaming answers come after all tokens: 10 x 100 ms > 0.5 s.
      const upstream = yield* simScoped({ models: ["m1"], interTokenMs: 100, outputTokens: 10 })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl, { timeout: 0.5 })
      const response = yield* lb.fetch("POST", "/v1/chat/completions", { body: { ...chat, max_tokens: 10 } })
      expectOpenAiError(response, 504, "api_error", "upstream_timeout")
    }))

  it.scopedLive("404 for unknown /v1 routes and 405 for wrong methods, in OpenAI's shape", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      expectOpenAiError(yield* lb.fetch("POST", "/v1/nothing/here/at/all"), 404, "invalid_request_error", null)
      expectOpenAiError(yield* lb.fetch("GET", "/v1"), 404, "invalid_request_error", null)
      expectOpenAiError(yield* lb.fetch("GET", "/v1?x=1"), 404, "invalid_request_error", null)
      expectOpenAiError(yield* lb.fetch("GET", "/v1/chat/completions"), 405, "invalid_request_error", null)
      expectOpenAiError(yield* lb.fetch("POST", "/v1/models"), 405, "invalid_request_error", null)
      const response = yield* lb.fetch("GET", "/v1/unknown")
      expect(response.headers.get("x-frame-options")).toBe("DENY")
    }))
})
