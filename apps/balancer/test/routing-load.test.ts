/**
 * Routing mode load end to end, with simulators behind a real balancer: prefix affinity, session
 * stickiness, saturation read from an engine's /metrics, and scrapes that fail or hang never delaying
 * a request.
 */
import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { type Balancer, connectEndpoint, startBalancer } from "./support/Balancer.js"
import { parseScrape } from "./support/Prometheus.js"

/** A prompt of about `chars` characters, distinct per `seed`. */
const prompt = (seed: string, chars = 4000) => {
  let text = ""
  for (let i = 0; text.length < chars; i++) text += `${seed}-${i} `
  return text
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "m1",
  messages: [{ role: "system", content }, { role: "user", content: "and a question" }],
  max_tokens: 2,
  ...extra
})

const send = (lb: Balancer, body: unknown, headers: Record<string, string> = {}) =>
  lb.fetch("POST", "/v1/chat/completions", { body, headers }).pipe(
    Effect.tap((r) => (r.status === 200 ? Effect.void : Effect.die(new Error(`status ${r.status}: ${JSON.stringify(r.body)}`)))),
    Effect.map((r) => r.headers.get("x-lb-endpoint"))
  )

/** A stand-in for an engine's /metrics: answers `text`, or never answers when `text` is "hang". */
const metricsServer = (answer: () => { status: number; text: string } | "hang") =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ url: string; server: http.Server; scrapes: () => number; lastPath: () => string }>((resolve) => {
        let scrapes = 0
        let lastPath = ""
        const server = http.createServer((req, res) => {
          scrapes++
          lastPath = req.url ?? ""
          const a = answer()
          if (a === "hang") return
          res.writeHead(a.status, { "content-type": "text/plain" })
          res.end(a.text)
        })
        server.listen(0, "127.0.0.1", () =>
          resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, server, scrapes: () => scrapes, lastPath: () => lastPath }))
      })
    ),
    ({ server }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      )
  )

const engineOf = (lb: Balancer, id: string) =>
  lb.admin("GET", "/state").pipe(Effect.map((r) => r.body.endpoints.find((e: any) => e.id === id).engine))

/** Polls the state until `check` holds for the endpoint's engine figures (bounded). */
const untilEngine = (lb: Balancer, id: string, check: (engine: any) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100; i++) {
      const engine = yield* engineOf(lb, id)
      if (check(engine)) return engine
      yield* Effect.sleep("50 millis")
    }
    return yield* Effect.die(new Error("engine figures never matched"))
  })

const LOAD_ENV = { LB_ENGINE_METRICS_SECONDS: "0.2" }

describe("routing mode load", () => {
  it.scopedLive("sends a request to the endpoint that has its prompt prefix", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2, 3].map(() => simScoped({ models: ["m1"], ttftMs: 300 })))
      const lb = yield* startBalancer(LOAD_ENV)
      yield* lb.admin("PATCH", "/routing", { mode: "load" })
      for (const sim of sims) yield* connectEndpoint(lb, sim.baseUrl)
      // Three prompts at once: each prefill in flight pushes the next to another endpoint.
      const first = yield* Effect.all(["a", "b", "c"].map((seed) => send(lb, chat(prompt(seed)))), { concurrency: "unbounded" })
      expect(new Set(first).size).toBe(3)
      // One at a time now, all idle: each follows its prefix, the order of the endpoints notwithstanding.
      for (const [i, seed] of ["c", "b", "a"].entries()) {
        const where = yield* send(lb, chat(prompt(seed), { messages: [{ role: "system", content: prompt(seed) }, { role: "user", content: `other ${i}` }] }))
        expect(where).toBe(first[["a", "b", "c"].indexOf(seed)])
      }
    }), 60_000)

  it.scopedLive("never sends to an endpoint at its max_concurrent, even one that has the prefix", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2].map(() => simScoped({ models: ["m1"], ttftMs: 300 })))
      const lb = yield* startBalancer(LOAD_ENV)
      yield* lb.admin("PATCH", "/routing", { mode: "load" })
      const limited = yield* connectEndpoint(lb, sims[0]!.baseUrl, { max_concurrent: 1 })
      const other = yield* connectEndpoint(lb, sims[1]!.baseUrl)
      expect(yield* send(lb, chat(prompt("shared")))).toBe(limited.name)
      const where = yield* Effect.all([1, 2, 3].map(() => send(lb, chat(prompt("shared")))), { concurrency: "unbounded" })
      expect(where.filter((name) => name === limited.name)).toHaveLength(1)
      expect(where.filter((name) => name === other.name)).toHaveLength(2)
      expect(sims[0]!.counters().maxRunning).toBe(1)
    }), 60_000)

  it.scopedLive("keeps a session on the endpoint that served it while it is a candidate", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2].map(() => simScoped({ models: ["m1"], ttftMs: 300 })))
      const lb = yield* startBalancer(LOAD_ENV)
      yield* lb.admin("PATCH", "/routing", { mode: "load" })
      for (const sim of sims) yield* connectEndpoint(lb, sim.baseUrl)
      const [busy, session] = yield* Effect.all([
        send(lb, chat(prompt("busy"))),
        Effect.sleep("50 millis").pipe(Effect.zipRight(send(lb, chat(prompt("s1")), { "x-session-id": "s-1" })))
      ], { concurrency: "unbounded" })
      expect(session).not.toBe(busy)
      // Idle now: without the session a new prompt goes to the first endpoint; with it, to the session's.
      for (let i = 0; i < 3; i++) expect(yield* send(lb, chat(prompt(`new-${i}`)), { "x-session-id": "s-1" })).toBe(session)
    }), 60_000)

  it.scopedLive("avoids an endpoint whose engine reports a long queue, and shows its figures", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2].map(() => simScoped({ models: ["m1"] })))
      const metrics = yield* metricsServer(() => ({
        status: 200,
        text: "vllm:num_requests_waiting{model_name=\"m1\"} 9\nvllm:num_requests_running{model_name=\"m1\"} 4\nvllm:kv_cache_usage_perc{model_name=\"m1\"} 0.5\n"
      }))
      const lb = yield* startBalancer(LOAD_ENV)
      yield* lb.admin("PATCH", "/routing", { mode: "load" })
      const saturated = yield* connectEndpoint(lb, sims[0]!.baseUrl, { metrics_url: metrics.url })
      const other = yield* connectEndpoint(lb, sims[1]!.baseUrl)
      const engine = yield* untilEngine(lb, saturated.id, (e) => e !== null)
      expect(engine).toMatchObject({ queue: 9, running: 4, kv_cache_usage: 0.5 })
      expect(engine.age_seconds).toBeLessThan(1)
      // Only the samples read are asked for (prometheus_client's name[] filter); this server ignores it.
      const asked = new URL(metrics.lastPath(), metrics.url).searchParams.getAll("name[]")
      expect(asked).toEqual(expect.arrayContaining(["vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:cache_config_info", "sglang:num_queue_reqs"]))
      // The simulator honours it, and its figures read the same.
      expect(yield* untilEngine(lb, other.id, (e) => e !== null)).toMatchObject({ queue: 0, running: 0 })
      for (let i = 0; i < 5; i++) expect(yield* send(lb, chat(prompt(`q${i}`)))).toBe(other.name)
      // The same figures on /metrics, labelled by endpoint name.
      const scrape = parseScrape((yield* lb.fetch("GET", "/metrics")).body as string)
      const sample = (name: string) => scrape.value(name, { endpoint: saturated.name })
      expect(sample("lb_endpoint_engine_queue")).toBe(9)
      expect(sample("lb_endpoint_engine_kv_cache_usage")).toBe(0.5)
      expect(sample("lb_endpoint_engine_metrics_age_seconds")).toBeLessThan(1)
    }), 60_000)

  it.scopedLive("ignores engine figures older than three scrape intervals, and routes by its own counters again", () =>
    Effect.gen(function*() {
      const sims = yield* Effect.all([1, 2].map(() => simScoped({ models: ["m1"] })))
      let healthy = true
      const metrics = yield* metricsServer(() => healthy ? { status: 200, text: "vllm:num_requests_waiting 9\n" } : { status: 503, text: "" })
      const lb = yield* startBalancer(LOAD_ENV)
      yield* lb.admin("PATCH", "/routing", { mode: "load" })
      const first = yield* connectEndpoint(lb, sims[0]!.baseUrl, { metrics_url: metrics.url })
      const second = yield* connectEndpoint(lb, sims[1]!.baseUrl)
      yield* untilEngine(lb, first.id, (e) => e?.queue === 9)
      expect(yield* send(lb, chat(prompt("x")))).toBe(second.name)
      healthy = false
      // A failed scrape does not drop the figures: they stay until three intervals old, then go.
      expect((yield* engineOf(lb, first.id))?.queue).toBe(9)
      yield* untilEngine(lb, first.id, (e) => e === null)
      // Both idle and unsaturated again: the tie goes to the first endpoint.
      expect(yield* send(lb, chat(prompt("y")))).toBe(first.name)
    }), 60_000)

  it.scopedLive("answers at once while scrapes fail or hang, and shows no figures for them", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"] })
      const hanging = yield* metricsServer(() => "hang")
      const failing = yield* metricsServer(() => ({ status: 500, text: "boom" }))
      const lb = yield* startBalancer(LOAD_ENV)
      yield* lb.admin("PATCH", "/routing", { mode: "load" })
      const since = performance.now()
      const a = yield* connectEndpoint(lb, sim.baseUrl, { metrics_url: hanging.url })
      const b = yield* connectEndpoint(lb, sim.baseUrl, { metrics_url: failing.url })
      yield* Effect.sleep("500 millis") // a few scrape intervals: scrapes of `a` hang past their timeout
      const started = performance.now()
      for (let i = 0; i < 10; i++) yield* send(lb, chat(prompt(`h${i}`, 200)))
      // Ten sequential requests to a zero-delay simulator: far under one scrape timeout (200 ms) each.
      expect((performance.now() - started) / 10).toBeLessThan(150)
      expect(yield* engineOf(lb, a.id)).toBeNull()
      expect(yield* engineOf(lb, b.id)).toBeNull()
      // One scrape in flight at most, each abandoned after min(interval, 2 s) = 200 ms: no more than one per 200 ms.
      expect(hanging.scrapes()).toBeLessThanOrEqual(Math.ceil((performance.now() - since) / 200) + 1)
      expect(failing.scrapes()).toBeGreaterThanOrEqual(2)
    }), 60_000)
})
