import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { type Balancer, connectEndpoint, startBalancer } from "./support/Balancer.js"
import { parseScrape } from "./support/Prometheus.js"
import { generations } from "./support/Sims.js"

const deterministic = { model: "m1", messages: [{ role: "user", content: "same question" }], temperature: 0, max_tokens: 3 }

const setup = (env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const upstream = yield* simScoped({ models: ["m1"] })
    const lb = yield* startBalancer(env)
    const endpoint = yield* connectEndpoint(lb, upstream.baseUrl)
    return { upstream, lb, endpoint }
  })

const ask = (lb: Balancer, body: unknown, headers: Record<string, string> = {}, path = "/v1/chat/completions") =>
  lb.fetch("POST", path, { body, headers })

describe("response cache", () => {
  it.scopedLive("answers a repeated deterministic request from the cache, without the upstream or the quotas", () =>
    Effect.gen(function*() {
      const { endpoint, lb, upstream } = yield* setup()
      const first = yield* ask(lb, deterministic)
      const second = yield* ask(lb, deterministic)
      expect(first.headers.get("x-lb-cache")).toBe("MISS")
      expect([second.status, second.headers.get("x-lb-cache"), second.headers.get("x-lb-endpoint")]).toEqual([200, "HIT", "cache"])
      expect(second.body).toEqual(first.body)
      expect(generations(upstream)).toBe(1)
      const state = (yield* lb.admin("GET", "/state")).body
      expect(state.endpoints.find((e: any) => e.id === endpoint.id).stats.requests).toBe(1)
      const m = parseScrape((yield* lb.fetch("GET", "/metrics")).body)
      expect([m.value("lb_cache_hits_total"), m.value("lb_cache_misses_total")]).toEqual([1, 1])
    }))

  it.scopedLive("ignores key order in the body", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      yield* ask(lb, deterministic)
      const reordered = `{"max_tokens":3,"temperature":0,"messages":[{"content":"same question","role":"user"}],"model":"m1"}`
      expect((yield* ask(lb, reordered)).headers.get("x-lb-cache")).toBe("HIT")
      expect(generations(upstream)).toBe(1)
    }))

  it.scopedLive("caches requests with a seed, and embeddings; bypasses sampling without a seed and streams", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      const seeded = { ...deterministic, temperature: 0.9, seed: 7 }
      yield* ask(lb, seeded)
      expect((yield* ask(lb, seeded)).headers.get("x-lb-cache")).toBe("HIT")
      const embed = { model: "m1", input: "vector" }
      yield* ask(lb, embed, {}, "/v1/embeddings")
      expect((yield* ask(lb, embed, {}, "/v1/embeddings")).headers.get("x-lb-cache")).toBe("HIT")
      const sampled = { ...deterministic, temperature: 0.9 }
      expect((yield* ask(lb, sampled)).headers.get("x-lb-cache")).toBe("BYPASS")
      expect((yield* ask(lb, sampled)).headers.get("x-lb-cache")).toBe("BYPASS")
      const streamed = { ...deterministic, stream: true }
      expect((yield* ask(lb, streamed)).headers.get("x-lb-cache")).toBe("BYPASS")
      expect((yield* ask(lb, streamed)).headers.get("x-lb-cache")).toBe("BYPASS")
      expect(generations(upstream) + generations(upstream, "/v1/embeddings")).toBe(1 + 1 + 2 + 2)
    }))

  it.scopedLive("never answers one route with another's cached response", () =>
    Effect.gen(function*() {
      const { lb } = yield* setup()
      const body = { model: "m1", prompt: "same body", input: "same body", temperature: 0 }
      yield* ask(lb, body, {}, "/v1/embeddings")
      const completion = yield* ask(lb, body, {}, "/v1/completions")
      expect(completion.headers.get("x-lb-cache")).toBe("MISS")
      expect(completion.body.object).toBe("text_completion")
    }))

  it.scopedLive("bypasses on Cache-Control: no-cache", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      yield* ask(lb, deterministic)
      expect((yield* ask(lb, deterministic, { "cache-control": "no-cache" })).headers.get("x-lb-cache")).toBe("BYPASS")
      expect(generations(upstream)).toBe(2)
    }))

  it.scopedLive("never shares entries between client tokens or incoming blocks", () =>
    Effect.gen(function*() {
      const { endpoint, lb, upstream } = yield* setup({ LB_CLIENT_TOKENS: "token-of-alice,token-of-bob" })
      yield* lb.admin("POST", "/incoming-blocks", { name: "team", endpoint_ids: [endpoint.id] })
      const alice = { authorization: "Bearer token-of-alice" }
      yield* ask(lb, deterministic, alice)
      expect((yield* ask(lb, deterministic, { authorization: "Bearer token-of-bob" })).headers.get("x-lb-cache")).toBe("MISS")
      expect((yield* ask(lb, deterministic, alice, "/v1/team/chat/completions")).headers.get("x-lb-cache")).toBe("MISS")
      expect((yield* ask(lb, deterministic, alice)).headers.get("x-lb-cache")).toBe("HIT")
      expect(generations(upstream)).toBe(3)
    }))

  it.scopedLive("forgets entries after LB_CACHE_TTL_SECONDS and keeps none over a tenth of LB_CACHE_MAX_BYTES", () =>
    Effect.gen(function*() {
      const { lb } = yield* setup({ LB_CACHE_TTL_SECONDS: "0.3" })
      yield* ask(lb, deterministic)
      yield* Effect.sleep("400 millis")
      expect((yield* ask(lb, deterministic)).headers.get("x-lb-cache")).toBe("MISS")

      const small = yield* setup({ LB_CACHE_MAX_BYTES: "3000" })
      const big = { ...deterministic, max_tokens: 16 }
      yield* ask(small.lb, big)
      expect((yield* ask(small.lb, big)).headers.get("x-lb-cache")).toBe("MISS")
    }))

  it.scopedLive("caches everything non-streaming with LB_CACHE_MODE=all and nothing with off", () =>
    Effect.gen(function*() {
      const sampled = { ...deterministic, temperature: 0.9 }
      const all = yield* setup({ LB_CACHE_MODE: "all" })
      yield* ask(all.lb, sampled)
      expect((yield* ask(all.lb, sampled)).headers.get("x-lb-cache")).toBe("HIT")
      const off = yield* setup({ LB_CACHE_MODE: "off" })
      yield* ask(off.lb, deterministic)
      const again = yield* ask(off.lb, deterministic)
      expect(again.headers.get("x-lb-cache")).toBeNull()
      expect(generations(off.upstream)).toBe(2)
    }))

  it.scopedLive("is emptied by POST /admin/api/cache/clear", () =>
    Effect.gen(function*() {
      const { lb, upstream } = yield* setup()
      yield* ask(lb, deterministic)
      expect((yield* lb.admin("POST", "/cache/clear")).status).toBe(200)
      expect((yield* ask(lb, deterministic)).headers.get("x-lb-cache")).toBe("MISS")
      expect(generations(upstream)).toBe(2)
    }))
})
