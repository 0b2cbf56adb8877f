import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import OpenAI from "openai"
import { connectEndpoint, startBalancer } from "./support/Balancer.js"
import { generationRequests } from "./support/Sims.js"

const client = (baseURL: string, apiKey = "unused") => new OpenAI({ baseURL, apiKey, maxRetries: 0 })
const messages = [{ role: "user" as const, content: "count these five words" }]

/** A balancer with one simulator wired to it. */
const setup = (sim: Parameters<typeof simScoped>[0] = {}, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const upstream = yield* simScoped({ models: ["m1"], outputTokens: 6, ...sim })
    const lb = yield* startBalancer(env)
    const endpoint = yield* connectEndpoint(lb, upstream.baseUrl, { name: "sim-one" })
    return { upstream, lb, endpoint, openai: client(`${lb.url}/v1`) }
  })

const endpointStats = (lb: { admin: (m: string, p: string) => Effect.Effect<{ body: any }> }, id: string) =>
  lb.admin("GET", "/state").pipe(Effect.map((r) => r.body.endpoints.find((e: any) => e.id === id).stats))

describe("chat completions through the balancer", () => {
  it.scopedLive("answers a non-streaming chat like the upstream, with its headers, and counts its usage", () =>
    Effect.gen(function*() {
      const { endpoint, lb, openai, upstream } = yield* setup()
      const { data, response } = yield* Effect.promise(() =>
        openai.chat.completions.create({ model: "m1", messages, max_tokens: 4 }).withResponse()
      )
      expect(data.choices[0]!.message.content).toBe(" tok1 tok2 tok3 tok4")
      expect(data.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 })
      expect(response.headers.get("x-lb-endpoint")).toBe("sim-one")
      expect(response.headers.get("x-lb-version")).toBe("3.1.0")
      expect(Number(response.headers.get("x-lb-overhead-ms"))).toBeGreaterThanOrEqual(0)
      expect(response.headers.get("x-content-type-options")).toBe("nosniff")

      const counted = upstream.counters()
      expect(yield* endpointStats(lb, endpoint.id)).toMatchObject({
        requests: 1,
        failures: 0,
        prompt_tokens: counted.promptTokens,
        completion_tokens: counted.completionTokens
      })
    }))

  it.scopedLive("streams without usage when the client did not ask, yet counts the upstream's exact usage", () =>
    Effect.gen(function*() {
      const { endpoint, lb, openai, upstream } = yield* setup()
      const stream = yield* Effect.promise(() => openai.chat.completions.create({ model: "m1", messages, stream: true }))
      const chunks: Array<any> = []
      yield* Effect.promise(async () => {
        for await (const chunk of stream) chunks.push(chunk)
      })
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(" tok1 tok2 tok3 tok4 tok5 tok6")
      expect(chunks.every((c) => c.choices.length === 1 && c.usage == null)).toBe(true)
      expect(generationRequests(upstream)[0]!.body).toMatchObject({ stream_options: { include_usage: true } })

      const counted = upstream.counters()
      expect(counted.completionTokens).toBe(6)
      expect(yield* endpointStats(lb, endpoint.id)).toMatchObject({
        requests: 1,
        prompt_tokens: counted.promptTokens,
        completion_tokens: 6
      })
    }))

  it.scopedLive("passes the usage chunk through when the client asked for it", () =>
    Effect.gen(function*() {
      const { endpoint, lb, openai, upstream } = yield* setup()
      const stream = yield* Effect.promise(() =>
        openai.chat.completions.create({ model: "m1", messages, stream: true, stream_options: { include_usage: true } })
      )
      const chunks: Array<any> = []
      yield* Effect.promise(async () => {
        for await (const chunk of stream) chunks.push(chunk)
      })
      const last = chunks[chunks.length - 1]
      expect(last.choices).toEqual([])
      expect(last.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 })
      expect(generationRequests(upstream)[0]!.body).toEqual({
        model: "m1",
        messages,
        stream: true,
        stream_options: { include_usage: true }
      })
      expect(yield* endpointStats(lb, endpoint.id)).toMatchObject({ prompt_tokens: 4, completion_tokens: 6 })
    }))

  it.scopedLive("forwards the request body unchanged when no usage needs adding", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      const body = `{"model":"m1",  "messages":[{"role":"user","content":"a b"}],"max_tokens":2,"vendor_extension":{"x":[1,2]}}`
      yield* lb.fetch("POST", "/v1/chat/completions", { body })
      expect(generationRequests(upstream)[0]!.body).toEqual(JSON.parse(body))
    }))

  it.scopedLive("serves the legacy /v1/{pool_name}/ paths", () =>
    Effect.gen(function*() {
      const { lb } = yield* setup()
      const legacy = client(`${lb.url}/v1/any-pool`)
      const chat = yield* Effect.promise(() => legacy.chat.completions.create({ model: "m1", messages, max_tokens: 1 }))
      expect(chat.choices[0]!.message.content).toBe(" tok1")
      const models = yield* Effect.promise(() => legacy.models.list())
      expect(models.data.map((m) => m.id)).toEqual(["m1"])
    }))
})

describe("other OpenAI routes", () => {
  it.scopedLive("relays text completions, streaming and not, and counts them", () =>
    Effect.gen(function*() {
      const { endpoint, lb, openai, upstream } = yield* setup()
      const whole = yield* Effect.promise(() => openai.completions.create({ model: "m1", prompt: "one two three", max_tokens: 3 }))
      expect(whole.choices[0]!.text).toBe(" tok1 tok2 tok3")
      const stream = yield* Effect.promise(() => openai.completions.create({ model: "m1", prompt: "one two", max_tokens: 2, stream: true }))
      let text = ""
      yield* Effect.promise(async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.text ?? ""
      })
      expect(text).toBe(" tok1 tok2")
      const counted = upstream.counters()
      expect([counted.promptTokens, counted.completionTokens]).toEqual([5, 5])
      expect(yield* endpointStats(lb, endpoint.id)).toMatchObject({ requests: 2, prompt_tokens: 5, completion_tokens: 5 })
    }))

  it.scopedLive("relays embeddings (base64, as the SDK asks, and float) and counts their prompt tokens", () =>
    Effect.gen(function*() {
      const { endpoint, lb, openai, upstream } = yield* setup()
      const direct = client(upstream.baseUrl)
      const input = ["first input here", "second one"]
      const viaLb = yield* Effect.promise(() => openai.embeddings.create({ model: "m1", input }))
      const viaSim = yield* Effect.promise(() => direct.embeddings.create({ model: "m1", input }))
      expect(viaLb.data.map((d) => d.embedding)).toEqual(viaSim.data.map((d) => d.embedding))
      expect(viaLb.data[0]!.embedding.length).toBe(8)
      const floats = yield* Effect.promise(() => openai.embeddings.create({ model: "m1", input: "x y", encoding_format: "float" }))
      expect(floats.usage.prompt_tokens).toBe(2)
      expect(yield* endpointStats(lb, endpoint.id)).toMatchObject({ requests: 2, prompt_tokens: 5 + 2, completion_tokens: 0 })
    }))

  it.scopedLive("merges the model lists of connected, enabled endpoints without duplicates", () =>
    Effect.gen(function*() {
      const a = yield* simScoped({ models: ["alpha", "shared"] })
      const b = yield* simScoped({ models: ["shared", "beta"] })
      const hidden = yield* simScoped({ models: ["not-connected"] })
      const off = yield* simScoped({ models: ["disabled"] })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, a.baseUrl)
      yield* connectEndpoint(lb, b.baseUrl)
      yield* connectEndpoint(lb, hidden.baseUrl, { connected: false })
      yield* connectEndpoint(lb, off.baseUrl, { enabled: false })
      const models = yield* Effect.promise(() => client(`${lb.url}/v1`).models.list())
      expect(models.data.map((m) => m.id)).toEqual(["alpha", "shared", "beta"])
      expect(models.data[0]).toMatchObject({ object: "model", owned_by: "vllm" })
      const state = (yield* lb.admin("GET", "/state")).body
      // Lists are learned for every endpoint, wired or not.
      expect(state.endpoints.map((e: any) => e.models)).toEqual([["alpha", "shared"], ["shared", "beta"], ["not-connected"], ["disabled"]])
    }))

  it.scopedLive("answers /v1/models from the cache: an endpoint that never answers is waited for once, not per call", () =>
    Effect.gen(function*() {
      const live = yield* simScoped({ models: ["alive"] })
      const silent = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<Http.Server>((resolve) => {
            const server = Http.createServer(() => {}) // accepts, never answers
            server.listen(0, "127.0.0.1", () => resolve(server))
          })
        ),
        (server) => Effect.promise(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))))
      )
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, live.baseUrl)
      yield* connectEndpoint(lb, `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1`, { timeout: 0.5 })
      const first = yield* lb.fetch("GET", "/v1/models")
      expect(first.body.data.map((m: any) => m.id)).toEqual(["alive"])
      const started = Date.now()
      for (let i = 0; i < 5; i++) yield* lb.fetch("GET", "/v1/models")
      expect(Date.now() - started).toBeLessThan(400)
    }))

  it.scopedLive("sends the endpoint's api_key upstream as a bearer token", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], apiKey: "upstream-secret-key" })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl, { api_key: "upstream-secret-key" })
      const chat = yield* Effect.promise(() => client(`${lb.url}/v1`).chat.completions.create({ model: "m1", messages, max_tokens: 1 }))
      expect(chat.choices[0]!.message.content).toBe(" tok1")
      expect(generationRequests(upstream)[0]!.headers.authorization).toBe("Bearer upstream-secret-key")
    }))
})

describe("request ids", () => {
  it.scopedLive("keeps the client's X-Request-ID and forwards it upstream", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      const response = yield* lb.fetch("POST", "/v1/chat/completions", {
        body: { model: "m1", messages, max_tokens: 1 },
        headers: { "x-request-id": "trace-me-42" }
      })
      expect(response.headers.get("x-request-id")).toBe("trace-me-42")
      expect(generationRequests(upstream)[0]!.headers["x-request-id"]).toBe("trace-me-42")
    }))

  it.scopedLive("makes a UUID when none is sent, the same one upstream", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      const response = yield* lb.fetch("POST", "/v1/chat/completions", { body: { model: "m1", messages, max_tokens: 1 } })
      const id = response.headers.get("x-request-id")
      expect(id).toMatch(/^[0-9a-f-]{36}$/)
      expect(generationRequests(upstream)[0]!.headers["x-request-id"]).toBe(id)
    }))
})

describe("live stats", () => {
  it.scopedLive("feeds /health and the state with rates and in-flight counts", () =>
    Effect.gen(function*() {
      const { lb, openai } = yield* setup({ ttftMs: 300 })
      const pending = Effect.runPromise(Effect.promise(() => openai.chat.completions.create({ model: "m1", messages, max_tokens: 2 })))
      yield* Effect.sleep("150 millis")
      expect((yield* lb.fetch("GET", "/health")).body.total_inflight).toBe(1)
      expect((yield* lb.admin("GET", "/state")).body.endpoints[0].inflight).toBe(1)
      yield* Effect.promise(() => pending)
      const health = (yield* lb.fetch("GET", "/health")).body
      expect(health).toMatchObject({ total_inflight: 0, requests_per_second: 0.1, tokens_per_second: 0.6 })
      const global = (yield* lb.admin("GET", "/state")).body.global
      expect(global).toEqual({
        requests: 1,
        prompt_tokens: 4,
        completion_tokens: 2,
        tokens_per_second: 0.6,
        requests_per_second: 0.1,
        total_inflight: 0
      })
    }))
})
