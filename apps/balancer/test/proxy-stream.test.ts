import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { connectEndpoint, startBalancer } from "./support/Balancer.js"
import { rawUpstream } from "./support/Sims.js"

const streamBody = (max_tokens: number) =>
  JSON.stringify({ model: "m1", messages: [{ role: "user", content: "go" }], max_tokens, stream: true })

const post = (url: string, body: string, signal?: AbortSignal) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body, ...(signal ? { signal } : {}) })

/** Starts a 50-token stream, reads until `marker` has arrived, then disconnects. */
const abortAfter = (url: string, marker: string) =>
  Effect.promise(async () => {
    const controller = new AbortController()
    const response = await post(url, streamBody(50), controller.signal)
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    while (!text.includes(marker)) text += decoder.decode((await reader.read()).value, { stream: true })
    controller.abort()
  })

describe("streaming relay", () => {
  it.scopedLive("delivers the first chunk while the upstream is still generating (no buffering)", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], interTokenMs: 150, outputTokens: 8 })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl)
      const { firstChunk, completedAtFirstChunk, total } = yield* Effect.promise(async () => {
        const started = Date.now()
        const response = await post(lb.url, streamBody(8))
        const reader = response.body!.getReader()
        const decoder = new TextDecoder()
        let text = ""
        let firstChunk = -1
        let completedAtFirstChunk = -1
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          text += decoder.decode(value, { stream: true })
          if (firstChunk < 0 && text.includes("tok1")) {
            firstChunk = Date.now() - started
            completedAtFirstChunk = upstream.counters().completed
          }
        }
        return { firstChunk, completedAtFirstChunk, total: Date.now() - started }
      })
      expect(completedAtFirstChunk).toBe(0)
      expect(firstChunk).toBeLessThan(500)
      expect(total).toBeGreaterThanOrEqual(1000)
    }))

  it.scopedLive("aborts the upstream request as soon as the client disconnects", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], interTokenMs: 100, outputTokens: 50 })
      const lb = yield* startBalancer()
      const endpoint = yield* connectEndpoint(lb, upstream.baseUrl)
      yield* abortAfter(lb.url, "data:")
      yield* Effect.sleep("300 millis")
      expect(upstream.counters()).toMatchObject({ aborted: 1, running: 0, completed: 0 })
      const state = (yield* lb.admin("GET", "/state")).body
      const entry = state.endpoints.find((e: any) => e.id === endpoint.id)
      expect(entry.inflight).toBe(0)
      expect(entry.stats.failures).toBe(0)
    }))

  it.scopedLive("counts the tokens an aborted stream used, though not as a request", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], interTokenMs: 50, outputTokens: 50 })
      const lb = yield* startBalancer()
      const endpoint = yield* connectEndpoint(lb, upstream.baseUrl)
      yield* abortAfter(lb.url, "tok3")
      yield* Effect.sleep("200 millis")
      const stats = (yield* lb.admin("GET", "/state")).body.endpoints.find((e: any) => e.id === endpoint.id).stats
      expect(stats.requests).toBe(0)
      expect(stats.prompt_tokens).toBe(1)
      expect(stats.completion_tokens).toBeGreaterThanOrEqual(3)
      expect(stats.completion_tokens).toBeLessThan(50)
    }))

  it.scopedLive("ends a stream that breaks mid-way with an SSE error event and [DONE]", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 10, fault: { kind: "close-mid-stream", afterChunks: 3 } })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl)
      const response = yield* Effect.promise(() => post(lb.url, streamBody(10)))
      expect(response.status).toBe(200)
      const text = yield* Effect.promise(() => response.text())
      const events = text.split("\n\n").filter((e) => e !== "")
      expect(events.at(-1)).toBe("data: [DONE]")
      const error = JSON.parse(events.at(-2)!.slice("data: ".length))
      expect(error.error).toMatchObject({ type: "api_error", code: "upstream_error" })
      expect(events.filter((e) => e.includes("tok")).length).toBeGreaterThan(0)
    }))

  it.scopedLive("estimates completion tokens from content chunks when the upstream sends no usage", () =>
    Effect.gen(function*() {
      const chunk = (content: string) => JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: null }] })
      const baseUrl = yield* rawUpstream([
        JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: "" } }] }),
        chunk("Hello"),
        chunk(" there"),
        chunk(" friend"),
        "[DONE]"
      ])
      const lb = yield* startBalancer()
      const endpoint = yield* connectEndpoint(lb, baseUrl)
      const body = JSON.stringify({ model: "m1", messages: [{ role: "user", content: "a prompt of 24 letters.." }], stream: true })
      const text = yield* Effect.promise(() => post(lb.url, body).then((r) => r.text()))
      expect(text).toContain("friend")
      expect(text.trim().endsWith("data: [DONE]")).toBe(true)
      const stats = (yield* lb.admin("GET", "/state")).body.endpoints.find((e: any) => e.id === endpoint.id).stats
      expect(stats).toMatchObject({ requests: 1, prompt_tokens: 6, completion_tokens: 3 })
    }))
})
