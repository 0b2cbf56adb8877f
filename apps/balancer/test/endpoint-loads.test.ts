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

  it.prop(
    "learns the prefill rate as the slope of TTFT over tokens, whatever fixed overhead every TTFT carries",
    [fc.double({ min: 2, max: 100, noNaN: true }), fc.double({ min: 0, max: 200, noNaN: true }), fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 40, maxLength: 80 })],
    ([perMs, overheadMs, sizes]) => {
      fc.pre(new Set(sizes).size > sizes.length / 2)
      const load = shared.of(`e-${++cases}`)
      for (const tokens of sizes) shared.learn(load, tokens, overheadMs + tokens / perMs)
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
