import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, FastCheck as fc, Layer } from "effect"
import { LbConfig } from "../src/Config.js"
import { EndpointLoads } from "../src/routing/EndpointLoads.js"

/** EndpointLoads seeded with 10,000 prefill tokens per second. */
const TestLoads = EndpointLoads.Default.pipe(
  Layer.provide(LbConfig.Default),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
    ["LB_PREFILL_TOKENS_PER_SECOND", "10000"],
    ["LB_ADMIN_TOKEN", "a-long-enough-admin-token"]
  ]))))
)

/** One instance for the property test's many cases, each on its own endpoint id. */
const shared = Effect.runSync(EndpointLoads.pipe(Effect.provide(TestLoads)))
let cases = 0

describe("EndpointLoads", () => {
  it.effect("starts from the configured prefill rate", () =>
    Effect.gen(function*() {
      const loads = yield* EndpointLoads
      expect(loads.of("e").prefillPerMs).toBe(10)
    }).pipe(Effect.provide(TestLoads)))

  it.effect("counts what is left of a prefill under way, at the learned rate, from the dispatch that found the engine idle", () =>
    Effect.gen(function*() {
      const loads = yield* EndpointLoads
      const load = loads.of("e") // 10 tokens/ms
      const first = load.dispatch(1000, 16, 500)
      expect(load.pendingPromptTokens(500)).toBe(1000)
      expect(load.pendingPromptTokens(540)).toBe(600)
      // A busy engine carries on with what it had: the clock is not restarted.
      const second = load.dispatch(2000, 16, 550)
      expect(load.pendingPromptTokens(550)).toBe(2500)
      // Running late: no more than the oldest request is taken off, the one behind it is still to do.
      expect(load.pendingPromptTokens(800)).toBe(2000)
      // Its first token: the engine goes on with the next one.
      loads.prefillDone(load, first, 1000, 500, 900, true)
      expect(load.pendingPromptTokens(900)).toBe(2000)
      expect(load.pendingPromptTokens(1000)).toBe(1000)
      expect(load.pendingPromptTokens(1500)).toBe(0)
      // An answer that ended without a first token takes its tokens away and says nothing of progress.
      loads.prefillDone(load, second, 2000, 550, 1600, false)
      expect(load.inflightPromptTokens).toBe(0)
      expect(load.lastFirstTokenAt).toBe(900)
      // Idle again: the next dispatch starts the clock.
      load.dispatch(500, 16, 2000)
      expect(load.pendingPromptTokens(2010)).toBe(400)
    }).pipe(Effect.provide(TestLoads)))

  it.prop(
    "knows exactly what an engine prefilling in arrival order has left at every dispatch, and keeps its rate",
    [fc.array(fc.record({ gap: fc.integer({ min: 0, max: 400 }), tokens: fc.integer({ min: 1, max: 4000 }) }), { minLength: 1, maxLength: 60 })],
    ([arrivals]) => {
      const load = shared.of(`fifo-${++cases}`) // seeded at the engine's true rate, 10 tokens/ms
      const rate = 10
      // The engine: each prefill starts when it arrives or when the one before ends; its first token then.
      let t = 0
      let engineFreeAt = 0
      const pending: Array<{ seq: number; tokens: number; at: number; doneAt: number }> = []
      for (const { gap, tokens } of arrivals) {
        t += gap
        while (pending.length > 0 && pending[0]!.doneAt <= t) {
          const done = pending.shift()!
          shared.prefillDone(load, done.seq, done.tokens, done.at, done.doneAt, true)
        }
        expect(load.pendingPromptTokens(t)).toBeCloseTo(Math.max(0, engineFreeAt - t) * rate, 6)
        const seq = load.dispatch(tokens, 16, t)
        engineFreeAt = Math.max(t, engineFreeAt) + tokens / rate
        pending.push({ seq, tokens, at: t, doneAt: engineFreeAt })
      }
      expect(load.prefillPerMs).toBeCloseTo(rate, 6)
    }
  )

  it.prop(
    "never counts less than the requests behind the oldest, whatever order their prefills end in",
    [fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 100 }), fc.array(fc.nat(), { maxLength: 100 }), fc.integer({ min: 0, max: 100_000 })],
    ([sizes, picks, later]) => {
      const load = shared.of(`order-${++cases}`)
      const open = sizes.map((tokens, i) => ({ tokens, seq: load.dispatch(tokens, 16, i) }))
      // Some end, in any order (the ring grows past 16 on the way).
      for (const pick of picks) {
        if (open.length <= 1) break
        const [ended] = open.splice(pick % open.length, 1)
        shared.prefillDone(load, ended!.seq, ended!.tokens, 0, sizes.length, false)
      }
      const total = open.reduce((sum, r) => sum + r.tokens, 0)
      expect(load.inflightPromptTokens).toBe(total)
      const left = load.pendingPromptTokens(sizes.length + later)
      expect(left).toBeLessThanOrEqual(total)
      expect(left).toBeGreaterThanOrEqual(total - open[0]!.tokens)
    }
  )

  it.prop(
    "learns the prefill rate as the slope of prefill time over tokens, whatever fixed delay each first token carries",
    [fc.double({ min: 2, max: 100, noNaN: true }), fc.double({ min: 0, max: 200, noNaN: true }), fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 40, maxLength: 80 })],
    ([perMs, delayMs, sizes]) => {
      fc.pre(new Set(sizes).size > sizes.length / 2) // sizes of one value say nothing of a slope
      const load = shared.of(`delayed-${++cases}`)
      let t = 0
      for (const tokens of sizes) {
        // Each sent to an idle engine, a second after the last first token: its own first token comes
        // after its prefill and the delay.
        t += 1000
        const seq = load.dispatch(tokens, 16, t)
        const firstToken = t + tokens / perMs + delayMs
        shared.prefillDone(load, seq, tokens, t, firstToken, true)
        t = firstToken
      }
      expect(load.prefillPerMs).toBeCloseTo(perMs, 3)
    }
  )

  it.effect("keeps a session on its last endpoint and forgets it with the endpoint", () =>
    Effect.gen(function*() {
      const loads = yield* EndpointLoads
      loads.stick("s", "a")
      loads.stick("s", "b")
      expect(loads.sessionEndpoint("s")).toBe("b")
      loads.retain(new Set(["a"]))
      expect(loads.sessionEndpoint("s")).toBeUndefined()
    }).pipe(Effect.provide(TestLoads)))
})
