import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { connectEndpoint, startBalancer } from "./support/Balancer.js"
import { parseScrape } from "./support/Prometheus.js"
import { generations, rawUpstream } from "./support/Sims.js"

const chat = (extra: Record<string, unknown> = {}) => ({ model: "m1", messages: [{ role: "user", content: "a b c" }], max_tokens: 5, ...extra })

describe("GET /metrics", () => {
  it.scopedLive("reports per-endpoint requests, tokens, failures and failovers that match the upstreams", () =>
    Effect.gen(function*() {
      const good = yield* simScoped({ models: ["m1"], outputTokens: 5 })
      const bad = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 500 } })
      const lb = yield* startBalancer({ LB_FAIL_THRESHOLD: "100" })
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      yield* connectEndpoint(lb, bad.baseUrl, { name: "bad", priority_order: 0 })
      yield* connectEndpoint(lb, good.baseUrl, { name: "good", priority_order: 1 })
      for (let i = 0; i < 3; i++) expect((yield* lb.fetch("POST", "/v1/chat/completions", { body: chat() })).status).toBe(200)
      const stream = yield* lb.fetch("POST", "/v1/chat/completions", { body: chat({ stream: true }) })
      expect(stream.status).toBe(200)

      const response = yield* lb.fetch("GET", "/metrics")
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/plain")
      const m = parseScrape(response.body)
      const counted = good.counters()
      expect(m.value("lb_endpoint_requests_total", { endpoint: "good", status: "200" })).toBe(generations(good))
      expect(m.value("lb_endpoint_requests_total", { endpoint: "bad", status: "500" })).toBe(generations(bad))
      expect(m.value("lb_endpoint_tokens_total", { endpoint: "good", type: "prompt" })).toBe(counted.promptTokens)
      expect(m.value("lb_endpoint_tokens_total", { endpoint: "good", type: "completion" })).toBe(counted.completionTokens)
      expect(m.value("lb_endpoint_failures_total", { endpoint: "bad", reason: "status_5xx" })).toBe(4)
      expect(m.value("lb_failovers_total")).toBe(4)
      expect(m.value("lb_request_duration_seconds_count", { endpoint: "good", stream: "false" })).toBe(3)
      expect(m.value("lb_request_duration_seconds_count", { endpoint: "good", stream: "true" })).toBe(1)
      expect(m.value("lb_time_to_first_token_seconds_count", { endpoint: "good" })).toBe(1)
      expect(m.value("lb_overhead_seconds_count")).toBe(4)
      expect(m.value("lb_endpoint_avg_latency_seconds", { endpoint: "good" })).toBeGreaterThan(0)
      expect(m.value("lb_endpoint_inflight", { endpoint: "good" })).toBe(0)
      expect(m.value("lb_endpoint_cooldown", { endpoint: "bad" })).toBe(0)
      expect(m.value("lb_queue_depth")).toBe(0)
      expect(m.value("lb_tokens_estimated_total")).toBe(0)
      expect(m.value("process_cpu_user_seconds_total")).toBeGreaterThan(0)
      expect(m.value("nodejs_heap_size_used_bytes")).toBeGreaterThan(0)
    }))

  it.scopedLive("shows cooldown and in-flight gauges while they hold", () =>
    Effect.gen(function*() {
      const slow = yield* simScoped({ models: ["m1"], ttftMs: 400 })
      const broken = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 503 } })
      const lb = yield* startBalancer({ LB_FAIL_THRESHOLD: "1", LB_COOLDOWN_SECONDS: "60", LB_MAX_ATTEMPTS: "1" })
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      yield* connectEndpoint(lb, broken.baseUrl, { name: "broken", priority_order: 0 })
      yield* connectEndpoint(lb, slow.baseUrl, { name: "slow", priority_order: 1 })
      expect((yield* lb.fetch("POST", "/v1/chat/completions", { body: chat() })).status).toBe(503)
      const pending = Effect.runPromise(lb.fetch("POST", "/v1/chat/completions", { body: chat() }))
      yield* Effect.sleep("150 millis")
      const m = parseScrape((yield* lb.fetch("GET", "/metrics")).body)
      expect(m.value("lb_endpoint_cooldown", { endpoint: "broken" })).toBe(1)
      expect(m.value("lb_endpoint_inflight", { endpoint: "slow" })).toBe(1)
      expect((yield* Effect.promise(() => pending)).status).toBe(200)
    }))

  it.scopedLive("drops the series of an endpoint once it is deleted", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      const ep = yield* connectEndpoint(lb, upstream.baseUrl, { name: "short-lived" })
      yield* lb.fetch("POST", "/v1/chat/completions", { body: chat() })
      expect(parseScrape((yield* lb.fetch("GET", "/metrics")).body).text).toContain('endpoint="short-lived"')
      yield* lb.admin("DELETE", `/endpoints/${ep.id}`)
      expect(parseScrape((yield* lb.fetch("GET", "/metrics")).body).text).not.toContain('endpoint="short-lived"')
    }))

  it.scopedLive("counts estimated tokens when the upstream sends no usage, and needs no auth", () =>
    Effect.gen(function*() {
      const content = (text: string) => JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })
      const baseUrl = yield* rawUpstream([content("one"), content(" two"), "[DONE]"])
      const lb = yield* startBalancer({ LB_CLIENT_TOKENS: "secret-client-token" })
      yield* connectEndpoint(lb, baseUrl)
      const streamed = yield* lb.fetch("POST", "/v1/chat/completions", {
        body: chat({ stream: true }),
        headers: { authorization: "Bearer secret-client-token" }
      })
      expect(streamed.status).toBe(200)
      const m = parseScrape((yield* lb.fetch("GET", "/metrics")).body)
      expect(m.value("lb_tokens_estimated_total")).toBe(2)
      expect(m.text).toContain("# TYPE lb_endpoint_requests_total counter")
      expect(m.text).toContain("# TYPE lb_time_to_first_token_seconds histogram")
    }))
})
