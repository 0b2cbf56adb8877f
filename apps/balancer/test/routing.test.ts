import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect, Fiber } from "effect"
import { type Balancer, connectEndpoint, startBalancer } from "./support/Balancer.js"
import { parseScrape } from "./support/Prometheus.js"
import { closedPort, generations } from "./support/Sims.js"

const chat = (max_tokens = 4, model = "m1") => ({ model, messages: [{ role: "user", content: "one two three four" }], max_tokens })

const send = (lb: Balancer, body: unknown = chat(), path = "/v1/chat/completions") => lb.fetch("POST", path, { body })

const sendMany = (lb: Balancer, n: number, body: unknown = chat()) =>
  Effect.all(Array.from({ length: n }, () => send(lb, body)), { concurrency: "unbounded" })

const endpointState = (lb: Balancer, id: string) =>
  lb.admin("GET", "/state").pipe(Effect.map((r) => r.body.endpoints.find((e: any) => e.id === id)))

describe("percentage routing", () => {
  it.scopedLive("splits tokens 50/30/20 across three endpoints", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2, 3].map(() => simScoped({ models: ["m1"], outputTokens: 20 })))
      const lb = yield* startBalancer()
      for (const [i, quota] of [50, 30, 20].entries()) yield* connectEndpoint(lb, sims[i]!.baseUrl, { token_quota_percent: quota })
      for (let i = 0; i < 100; i++) yield* send(lb, chat(4 + (i % 7)))
      const tokens = sims.map((s) => s.counters().promptTokens + s.counters().completionTokens)
      const total = tokens.reduce((a, b) => a + b, 0)
      const shares = tokens.map((t) => (100 * t) / total)
      expect(shares[0]).toBeCloseTo(50, 0)
      expect(shares[1]).toBeCloseTo(30, 0)
      expect(shares[2]).toBeCloseTo(20, 0)
    }))

  it.scopedLive("renormalises over the endpoints that remain when one is disabled", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2, 3].map(() => simScoped({ models: ["m1"] })))
      const lb = yield* startBalancer()
      const eps = []
      for (const [i, quota] of [50, 30, 20].entries()) eps.push(yield* connectEndpoint(lb, sims[i]!.baseUrl, { token_quota_percent: quota }))
      yield* lb.admin("PATCH", `/endpoints/${eps[0]!.id}`, { enabled: false })
      for (let i = 0; i < 50; i++) yield* send(lb)
      const requests = sims.map((s) => generations(s))
      expect(requests).toEqual([0, 30, 20])
    }))
})

describe("priority routing", () => {
  it.scopedLive("fills the first priority up to max_concurrent and overflows to the next", () =>
    Effect.gen(function*() {
      const primary = yield* simScoped({ models: ["m1"], ttftMs: 300 })
      const overflow = yield* simScoped({ models: ["m1"], ttftMs: 300 })
      const lb = yield* startBalancer()
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      yield* connectEndpoint(lb, overflow.baseUrl, { priority_order: 1 })
      yield* connectEndpoint(lb, primary.baseUrl, { priority_order: 0, max_concurrent: 2 })
      const responses = yield* sendMany(lb, 6)
      expect(responses.every((r) => r.status === 200)).toBe(true)
      expect([generations(primary), primary.counters().maxRunning]).toEqual([2, 2])
      expect(generations(overflow)).toBe(4)
      // Sequential traffic stays on the primary.
      for (let i = 0; i < 3; i++) yield* send(lb)
      expect(generations(primary)).toBe(5)
    }))

  it.scopedLive("spreads equal priorities by least in-flight, round-robin among equals", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2, 3].map(() => simScoped({ models: ["m1"] })))
      const lb = yield* startBalancer()
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      for (const sim of sims) yield* connectEndpoint(lb, sim.baseUrl)
      for (let i = 0; i < 9; i++) yield* send(lb)
      expect(sims.map((s) => generations(s))).toEqual([3, 3, 3])
    }))
})

describe("concurrency limits and the queue", () => {
  it.scopedLive("never exceeds max_concurrent: extra requests wait in FIFO order and are served", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], ttftMs: 100 })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, sim.baseUrl, { max_concurrent: 2 })
      const responses = yield* sendMany(lb, 8)
      expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200))
      expect([generations(sim), sim.counters().maxRunning, sim.counters().waiting]).toEqual([8, 2, 0])
    }))

  it.scopedLive("answers 503 with Retry-After after LB_QUEUE_TIMEOUT_SECONDS", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], ttftMs: 800 })
      const lb = yield* startBalancer({ LB_QUEUE_TIMEOUT_SECONDS: "0.2" })
      yield* connectEndpoint(lb, sim.baseUrl, { max_concurrent: 1 })
      const [first, second] = yield* sendMany(lb, 2)
      const statuses = [first!.status, second!.status].sort()
      expect(statuses).toEqual([200, 503])
      const refused = [first!, second!].find((r) => r.status === 503)!
      expect(refused.body.error.code).toBe("no_endpoint_available")
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    }))

  it.scopedLive("takes a request out of the queue when its client goes away", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], ttftMs: 600 })
      const lb = yield* startBalancer({ LB_QUEUE_MAX: "1" })
      yield* connectEndpoint(lb, sim.baseUrl, { max_concurrent: 1 })
      const busy = Effect.runPromise(send(lb))
      yield* Effect.sleep("100 millis")
      const controller = new AbortController()
      const queued = fetch(`${lb.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(chat()),
        signal: controller.signal
      }).catch(() => "aborted")
      yield* Effect.sleep("100 millis")
      expect(parseScrape((yield* lb.fetch("GET", "/metrics")).body).value("lb_queue_depth")).toBe(1)
      controller.abort()
      expect(yield* Effect.promise(() => queued)).toBe("aborted")
      yield* Effect.sleep("50 millis")
      expect(parseScrape((yield* lb.fetch("GET", "/metrics")).body).value("lb_queue_depth")).toBe(0)
      // Its place is free at once: the next request may queue.
      const next = yield* Effect.fork(send(lb))
      expect((yield* Effect.promise(() => busy)).status).toBe(200)
      expect((yield* Fiber.join(next)).status).toBe(200)
      expect(generations(sim)).toBe(2)
    }))

  it.scopedLive("serves a queued request as soon as an endpoint for its model frees, whatever waits before it", () =>
    Effect.gen(function*() {
      const slow = yield* simScoped({ models: ["m1"], ttftMs: 1500 })
      const quick = yield* simScoped({ models: ["m2"], ttftMs: 200 })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, slow.baseUrl, { max_concurrent: 1 })
      yield* connectEndpoint(lb, quick.baseUrl, { max_concurrent: 1 })
      yield* lb.fetch("GET", "/v1/models")
      const started = Date.now()
      const busy = [Effect.runPromise(send(lb, chat(2, "m1"))), Effect.runPromise(send(lb, chat(2, "m2")))]
      yield* Effect.sleep("50 millis")
      // An m1 request queues first; the m2 request queued behind it must not wait for the m1 slot.
      const queuedM1 = Effect.runPromise(send(lb, chat(2, "m1")))
      yield* Effect.sleep("20 millis")
      const queuedM2 = yield* send(lb, chat(2, "m2"))
      expect(queuedM2.status).toBe(200)
      expect(Date.now() - started).toBeLessThan(1200)
      yield* Effect.promise(() => Promise.all([...busy, queuedM1]))
    }))

  it.scopedLive("does not count queue time as the balancer's overhead", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], ttftMs: 400 })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, sim.baseUrl, { max_concurrent: 1 })
      const [first, second] = yield* sendMany(lb, 2)
      for (const response of [first!, second!]) {
        expect(response.status).toBe(200)
        expect(Number(response.headers.get("x-lb-overhead-ms"))).toBeLessThan(100)
      }
    }))

  it.scopedLive("answers 503 at once when the queue is full (LB_QUEUE_MAX)", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], ttftMs: 400 })
      const lb = yield* startBalancer({ LB_QUEUE_MAX: "1" })
      yield* connectEndpoint(lb, sim.baseUrl, { max_concurrent: 1 })
      const started = Date.now()
      const responses = yield* sendMany(lb, 3)
      expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 503])
      expect(Date.now() - started).toBeLessThan(3_000)
    }))
})

describe("failover", () => {
  const failoverCase = (name: string, setup: (lb: Balancer) => Effect.Effect<unknown, never, any>) =>
    it.scopedLive(`retries on the next endpoint when the first ${name}`, () =>
      Effect.gen(function*() {
        const healthy = yield* simScoped({ models: ["m1"] })
        const lb = yield* startBalancer()
        yield* lb.admin("PATCH", "/routing", { mode: "priority" })
        yield* setup(lb)
        yield* connectEndpoint(lb, healthy.baseUrl, { name: "healthy", priority_order: 5 })
        const response = yield* send(lb)
        expect(response.status).toBe(200)
        expect(response.headers.get("x-lb-endpoint")).toBe("healthy")
        expect(generations(healthy)).toBe(1)
      }))

  failoverCase("refuses connections", (lb) =>
    Effect.flatMap(closedPort, (port) => connectEndpoint(lb, `http://127.0.0.1:${port}/v1`, { name: "dead" })))
  failoverCase("answers 500", (lb) =>
    Effect.flatMap(simScoped({ models: ["m1"], fault: { kind: "status", status: 500 } }), (s) => connectEndpoint(lb, s.baseUrl)))
  failoverCase("answers 429", (lb) =>
    Effect.flatMap(simScoped({ models: ["m1"], fault: { kind: "status", status: 429, retryAfterSeconds: 3 } }), (s) => connectEndpoint(lb, s.baseUrl)))
  failoverCase("times out", (lb) =>
    Effect.flatMap(simScoped({ models: ["m1"], fault: { kind: "hang" } }), (s) => connectEndpoint(lb, s.baseUrl, { timeout: 0.2 })))

  it.scopedLive("passes a non-retryable 4xx through at once without trying another endpoint", () =>
    Effect.gen(function*() {
      const first = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 400 } })
      const second = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      yield* connectEndpoint(lb, first.baseUrl, { priority_order: 0 })
      yield* connectEndpoint(lb, second.baseUrl, { priority_order: 1 })
      expect((yield* send(lb)).status).toBe(400)
      expect(generations(second)).toBe(0)
    }))

  it.scopedLive("gives the last upstream's status and body when every attempt fails, at most LB_MAX_ATTEMPTS", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2, 3].map(() => simScoped({ models: ["m1"], fault: { kind: "status", status: 503, retryAfterSeconds: 2 } })))
      const lb = yield* startBalancer({ LB_MAX_ATTEMPTS: "2" })
      for (const sim of sims) yield* connectEndpoint(lb, sim.baseUrl)
      const response = yield* send(lb)
      expect(response.status).toBe(503)
      expect(response.headers.get("retry-after")).toBe("2")
      expect(response.body.error.type).toBe("ServiceUnavailableError")
      expect(sims.map((s) => generations(s)).reduce((a, b) => a + b)).toBe(2)
    }))

  it.scopedLive("answers 502 when no endpoint can be reached, 504 when all time out", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      for (let i = 0; i < 2; i++) yield* connectEndpoint(lb, `http://127.0.0.1:${yield* closedPort}/v1`)
      const unreachable = yield* send(lb)
      expect([unreachable.status, unreachable.body.error.code]).toEqual([502, "upstream_error"])

      const slow = yield* startBalancer()
      const hang = yield* simScoped({ models: ["m1"], fault: { kind: "hang" } })
      yield* connectEndpoint(slow, hang.baseUrl, { timeout: 0.2 })
      const timedOut = yield* send(slow)
      expect([timedOut.status, timedOut.body.error.code]).toEqual([504, "upstream_timeout"])
    }))
})

describe("cooldown", () => {
  it.scopedLive("cools an endpoint down after LB_FAIL_THRESHOLD failures and probes it once afterwards", () =>
    Effect.gen(function*() {
      const flaky = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 500 } })
      const steady = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer({ LB_FAIL_THRESHOLD: "2", LB_COOLDOWN_SECONDS: "1", LB_MAX_ATTEMPTS: "1" })
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      const ep = yield* connectEndpoint(lb, flaky.baseUrl, { priority_order: 0 })
      yield* connectEndpoint(lb, steady.baseUrl, { priority_order: 1 })

      expect((yield* send(lb)).status).toBe(500)
      expect((yield* endpointState(lb, ep.id)).cooldown).toEqual({ active: false, remaining_seconds: 0, consecutive_failures: 1 })
      expect((yield* send(lb)).status).toBe(500)
      const cooling = (yield* endpointState(lb, ep.id)).cooldown
      expect(cooling).toMatchObject({ active: true, consecutive_failures: 2 })
      expect(cooling.remaining_seconds).toBeGreaterThan(0.5)

      // While it cools down, traffic goes to the next endpoint.
      for (let i = 0; i < 3; i++) expect((yield* send(lb)).status).toBe(200)
      expect(generations(flaky)).toBe(2)

      // Half-open: one probe; it succeeds and closes the breaker.
      flaky.set({ fault: { kind: "none" } })
      yield* Effect.sleep("1100 millis")
      expect((yield* send(lb)).headers.get("x-lb-endpoint")).toBe(ep.name)
      expect((yield* endpointState(lb, ep.id)).cooldown).toEqual({ active: false, remaining_seconds: 0, consecutive_failures: 0 })
    }))

  it.scopedLive("a failed probe re-opens the cooldown; Retry-After lengthens it", () =>
    Effect.gen(function*() {
      const flaky = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 503 } })
      const steady = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer({ LB_FAIL_THRESHOLD: "1", LB_COOLDOWN_SECONDS: "0.5", LB_MAX_ATTEMPTS: "1" })
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      const ep = yield* connectEndpoint(lb, flaky.baseUrl, { priority_order: 0 })
      yield* connectEndpoint(lb, steady.baseUrl, { priority_order: 1 })
      yield* send(lb)
      yield* Effect.sleep("600 millis")
      yield* send(lb) // the probe, failing
      expect(generations(flaky)).toBe(2)
      expect((yield* endpointState(lb, ep.id)).cooldown.active).toBe(true)
      flaky.set({ fault: { kind: "status", status: 429, retryAfterSeconds: 30 } })
      yield* Effect.sleep("600 millis")
      yield* send(lb)
      expect((yield* endpointState(lb, ep.id)).cooldown.remaining_seconds).toBeGreaterThan(25)
    }))

  it.scopedLive("when every endpoint is cooling down, probes the one whose cooldown ends first", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 500 } })
      const lb = yield* startBalancer({ LB_FAIL_THRESHOLD: "1", LB_COOLDOWN_SECONDS: "60", LB_MAX_ATTEMPTS: "1" })
      const ep = yield* connectEndpoint(lb, sim.baseUrl)
      expect((yield* send(lb)).status).toBe(500)
      expect((yield* endpointState(lb, ep.id)).cooldown.active).toBe(true)
      sim.set({ fault: { kind: "none" } })
      expect((yield* send(lb)).status).toBe(200)
      expect((yield* endpointState(lb, ep.id)).cooldown.active).toBe(false)
    }))

  it.scopedLive("a client's own 4xx neither counts as a failure nor resets the count", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 500 } })
      const lb = yield* startBalancer({ LB_FAIL_THRESHOLD: "3", LB_MAX_ATTEMPTS: "1" })
      const ep = yield* connectEndpoint(lb, sim.baseUrl)
      for (let i = 0; i < 2; i++) expect((yield* send(lb)).status).toBe(500)
      sim.set({ fault: { kind: "status", status: 400 } })
      expect((yield* send(lb)).status).toBe(400)
      expect((yield* endpointState(lb, ep.id)).cooldown.consecutive_failures).toBe(2)
      sim.set({ fault: { kind: "status", status: 500 } })
      expect((yield* send(lb)).status).toBe(500)
      expect((yield* endpointState(lb, ep.id)).cooldown).toMatchObject({ active: true, consecutive_failures: 3 })
    }))

  it.scopedLive("does not count other 4xx or client aborts as failures", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 422 } })
      const lb = yield* startBalancer({ LB_FAIL_THRESHOLD: "1" })
      const ep = yield* connectEndpoint(lb, sim.baseUrl)
      for (let i = 0; i < 3; i++) expect((yield* send(lb)).status).toBe(422)
      expect((yield* endpointState(lb, ep.id)).cooldown).toMatchObject({ active: false, consecutive_failures: 0 })
    }))
})

describe("model-aware candidates", () => {
  it.scopedLive("sends each model to an endpoint that serves it, 404 model_not_found when none does", () =>
    Effect.gen(function*() {
      const a = yield* simScoped({ models: ["llama"] })
      const b = yield* simScoped({ models: ["qwen", "llama"] })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, a.baseUrl)
      yield* connectEndpoint(lb, b.baseUrl)
      yield* lb.fetch("GET", "/v1/models")
      for (let i = 0; i < 4; i++) expect((yield* send(lb, chat(2, "qwen"))).status).toBe(200)
      expect([generations(a), generations(b)]).toEqual([0, 4])
      const missing = yield* send(lb, chat(2, "mistral"))
      expect(missing.status).toBe(404)
      expect(missing.body.error).toMatchObject({ type: "invalid_request_error", code: "model_not_found", param: "model" })
      expect(generations(a) + generations(b)).toBe(4)
    }))
})

describe("incoming blocks", () => {
  it.scopedLive("selects the block by /v1/{pool_name}/..., falls back to default, refuses a disabled block", () =>
    Effect.gen(function*() {
      const shared = yield* simScoped({ models: ["m1"] })
      const dedicated = yield* simScoped({ models: ["m1", "m2"] })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, shared.baseUrl)
      const own = yield* connectEndpoint(lb, dedicated.baseUrl, { connected: false })
      const block = yield* lb.admin("POST", "/incoming-blocks", { name: "team-a", endpoint_ids: [own.id] })
      expect(block.status).toBe(201)

      expect((yield* send(lb, chat(), "/v1/team-a/chat/completions")).status).toBe(200)
      expect((yield* send(lb, chat(), "/v1/unknown-pool/chat/completions")).status).toBe(200)
      expect((yield* send(lb)).status).toBe(200)
      expect([generations(shared), generations(dedicated)]).toEqual([2, 1])

      const models = yield* lb.fetch("GET", "/v1/team-a/models")
      expect(models.body.data.map((m: any) => m.id)).toEqual(["m1", "m2"])

      yield* lb.admin("PATCH", `/incoming-blocks/${block.body.id}`, { enabled: false })
      const refused = yield* send(lb, chat(), "/v1/team-a/chat/completions")
      expect([refused.status, refused.body.error.code]).toEqual([503, "no_endpoint_available"])
      expect((yield* lb.fetch("GET", "/v1/team-a/models")).status).toBe(503)
      expect(generations(dedicated)).toBe(1)
    }))

  it.scopedLive("uses the block's routing mode override", () =>
    Effect.gen(function*() {
      const first = yield* simScoped({ models: ["m1"] })
      const second = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      const a = yield* connectEndpoint(lb, first.baseUrl, { connected: false, priority_order: 0, token_quota_percent: 50 })
      const b = yield* connectEndpoint(lb, second.baseUrl, { connected: false, priority_order: 1, token_quota_percent: 50 })
      yield* lb.admin("POST", "/incoming-blocks", { name: "prio", routing_mode: "priority", endpoint_ids: [a.id, b.id] })
      for (let i = 0; i < 4; i++) yield* send(lb, chat(), "/v1/prio/chat/completions")
      expect([generations(first), generations(second)]).toEqual([4, 0])
    }))
})
