import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, TestClock } from "effect"
import { LbConfig } from "../src/Config.js"
import { Cooldowns } from "../src/routing/Cooldowns.js"

/** The Cooldowns service with a threshold of 3 and a 20 s cooldown, on the test clock. */
const TestCooldowns = Cooldowns.Default.pipe(
  Layer.provide(LbConfig.Default),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
    ["LB_FAIL_THRESHOLD", "3"],
    ["LB_COOLDOWN_SECONDS", "20"],
    ["LB_ADMIN_TOKEN", "a-long-enough-admin-token"]
  ]))))
)

const ID = "endpoint-1"

describe("Cooldowns under TestClock", () => {
  it.effect("opens at the threshold, stays open for the cooldown, then lets exactly one probe through", () =>
    Effect.gen(function*() {
      const cooldowns = yield* Cooldowns
      for (let i = 0; i < 2; i++) cooldowns.onFailure(ID)
      expect(cooldowns.view(ID)).toEqual({ active: false, remaining_seconds: 0, consecutive_failures: 2 })
      cooldowns.onFailure(ID)
      expect(cooldowns.view(ID)).toEqual({ active: true, remaining_seconds: 20, consecutive_failures: 3 })
      expect(cooldowns.canSend(ID)).toBe(false)

      yield* TestClock.adjust("19500 millis")
      expect(cooldowns.view(ID).remaining_seconds).toBe(0.5)
      expect(cooldowns.canSend(ID)).toBe(false)

      yield* TestClock.adjust("500 millis")
      expect(cooldowns.view(ID).active).toBe(false)
      expect(cooldowns.canSend(ID)).toBe(true)
      cooldowns.onSend(ID)
      expect(cooldowns.canSend(ID)).toBe(false)
      cooldowns.onSuccess(ID)
      expect(cooldowns.view(ID)).toEqual({ active: false, remaining_seconds: 0, consecutive_failures: 0 })
      expect(cooldowns.canSend(ID)).toBe(true)
    }).pipe(Effect.provide(TestCooldowns)))

  it.effect("re-opens for a full cooldown when the probe fails, and honours a longer Retry-After", () =>
    Effect.gen(function*() {
      const cooldowns = yield* Cooldowns
      for (let i = 0; i < 3; i++) cooldowns.onFailure(ID)
      yield* TestClock.adjust("20 seconds")
      cooldowns.onSend(ID)
      cooldowns.onFailure(ID)
      expect(cooldowns.view(ID)).toMatchObject({ active: true, remaining_seconds: 20 })
      yield* TestClock.adjust("20 seconds")
      cooldowns.onSend(ID)
      cooldowns.onFailure(ID, 90_000)
      expect(cooldowns.view(ID).remaining_seconds).toBe(90)
    }).pipe(Effect.provide(TestCooldowns)))

  it.effect("frees the probe slot when the probe is abandoned (client went away)", () =>
    Effect.gen(function*() {
      const cooldowns = yield* Cooldowns
      for (let i = 0; i < 3; i++) cooldowns.onFailure(ID)
      yield* TestClock.adjust("20 seconds")
      cooldowns.onSend(ID)
      expect(cooldowns.canSend(ID)).toBe(false)
      cooldowns.onAbandon(ID)
      expect(cooldowns.canSend(ID)).toBe(true)
    }).pipe(Effect.provide(TestCooldowns)))
})
