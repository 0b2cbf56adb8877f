import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { formatResetDuration, MinuteLimit } from "../src/RateLimit.js"

describe("rate limits", () => {
  it("formats reset durations like OpenAI", () => {
    expect([0, 250, 1000, 1001, 59_000, 360_000, 90_500, 3_723_000].map(formatResetDuration))
      .toEqual(["0s", "250ms", "1s", "2s", "59s", "6m0s", "1m31s", "1h2m3s"])
  })

  it("allows up to the limit per sliding minute", () => {
    const rpm = new MinuteLimit(3)
    for (let i = 0; i < 3; i++) {
      expect(rpm.allows(i * 1000)).toBe(true)
      rpm.add(i * 1000, 1)
    }
    expect(rpm.allows(2_500)).toBe(false)
    expect(rpm.remaining(2_500)).toBe(0)
    expect(rpm.resetMs(2_500)).toBe(57_500)
    expect(rpm.allows(60_000)).toBe(true)
  })

  it("keeps what was used when the limit changes", () => {
    const rpm = new MinuteLimit(3)
    rpm.add(0, 2)
    const lower = rpm.withLimit(2)
    expect([lower.limit, lower.used(500), lower.allows(500)]).toEqual([2, 2, false])
    lower.add(1_000, 1)
    expect(rpm.withLimit(10).remaining(1_500)).toBe(7)
  })

  it.prop(
    "resetMs is exactly the wait until one more unit fits",
    [fc.array(fc.tuple(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 1, max: 5 })), { maxLength: 60 }), fc.integer({ min: 1, max: 20 })],
    ([events, limit]) => {
      const sorted = [...events].sort((a, b) => a[0] - b[0])
      const l = new MinuteLimit(limit)
      for (const [t, n] of sorted) l.add(t, n)
      const now = sorted.at(-1)?.[0] ?? 0
      const wait = l.resetMs(now)
      expect(l.used(now + wait)).toBeLessThan(limit)
      if (wait > 0) expect(l.used(now + wait - 1)).toBeGreaterThanOrEqual(limit)
    }
  )
})
