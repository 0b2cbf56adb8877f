/**
 * The demo's background traffic (scripts/lib/trickle.ts): bounded in count, time and concurrency,
 * loopback only, and stopped at once. Driven against a simulated upstream's OpenAI routes directly.
 */
import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { startTrickle } from "../../../scripts/lib/trickle.js"

const bounds = { model: "m1", perSecond: 50, maxInFlight: 4, maxRequests: 1_000, maxMs: 60_000 }

describe("demo traffic", () => {
  it.scopedLive("sends streaming chat requests until its request bound, reading each to the end", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], outputTokens: 5 })
      const trickle = startTrickle({ ...bounds, url: sim.url, maxRequests: 12 })
      yield* Effect.promise(() => trickle.done)
      expect(trickle.counts()).toEqual({ sent: 12, ok: 12, failed: 0 })
      expect(sim.counters().completed).toBe(12)
      expect(sim.counters().byRoute).toEqual({ "/v1/chat/completions": 12 })
    }), { timeout: 30_000 })

  it.scopedLive("keeps at most maxInFlight requests open at once", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], outputTokens: 4, interTokenMs: 100 })
      const trickle = startTrickle({ ...bounds, url: sim.url, maxInFlight: 2, maxRequests: 8 })
      yield* Effect.promise(() => trickle.done)
      expect(sim.counters().maxRunning).toBeLessThanOrEqual(2)
      expect(trickle.counts().ok).toBe(trickle.counts().sent)
    }), { timeout: 30_000 })

  it.scopedLive("ends at its time bound", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], outputTokens: 2 })
      const started = Date.now()
      const trickle = startTrickle({ ...bounds, url: sim.url, perSecond: 5, maxMs: 600 })
      yield* Effect.promise(() => trickle.done)
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(trickle.counts().sent).toBeLessThan(20)
    }), { timeout: 30_000 })

  it.scopedLive("stops at once, aborting the streams in flight", () =>
    Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["m1"], outputTokens: 100, interTokenMs: 200 })
      const trickle = startTrickle({ ...bounds, url: sim.url })
      yield* Effect.sleep("300 millis")
      const started = Date.now()
      yield* Effect.promise(() => trickle.stop())
      expect(Date.now() - started).toBeLessThan(2_000)
      const { sent, ok, failed } = trickle.counts()
      expect(sent).toBeGreaterThan(0)
      expect({ ok, failed }).toEqual({ ok: 0, failed: 0 })
      yield* Effect.sleep("300 millis")
      expect(trickle.counts().sent).toBe(sent)
    }), { timeout: 30_000 })

  it("refuses any target but loopback", () => {
    expect(() => startTrickle({ ...bounds, url: "http://example.com:8090" })).toThrow(/loopback/)
  })
})
