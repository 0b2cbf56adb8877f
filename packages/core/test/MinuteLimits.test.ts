import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { MinuteLimits } from "../src/MinuteLimits.js"
import { MinuteLimit } from "../src/RateLimit.js"

/** Requests as (key, milliseconds since the previous request). */
const requests = fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 20_000 })), { maxLength: 200 })

describe("per-key minute limits", () => {
  it("refuses the request over the limit until the minute has slid past the first one", () => {
    const limits = new MinuteLimits(2, 100)
    expect([limits.take("a", 0), limits.take("a", 10_000), limits.take("a", 20_000)]).toEqual([0, 0, 40_000])
    expect(limits.take("b", 20_000)).toBe(0)
    expect([limits.take("a", 59_999), limits.take("a", 60_000)]).toEqual([1, 0])
  })

  it("forgets keys idle for a minute", () => {
    const limits = new MinuteLimits(5, 100)
    limits.take("a", 0)
    limits.take("b", 30_000)
    limits.take("c", 59_999)
    expect(limits.size).toBe(3)
    limits.take("c", 60_000)
    expect(limits.size).toBe(2)
    limits.take("d", 120_000)
    expect(limits.size).toBe(1)
  })

  it("drops the least recently seen key when full", () => {
    const limits = new MinuteLimits(1, 2)
    limits.take("a", 0)
    limits.take("b", 1)
    limits.take("a", 2)
    limits.take("c", 3)
    expect(limits.size).toBe(2)
    // "a" is still counted; "b" was dropped, so it starts over.
    expect([limits.take("a", 4), limits.take("b", 5)]).toEqual([59_996, 0])
  })

  it.prop("answers exactly as one unforgetting MinuteLimit per key would", [requests, fc.integer({ min: 1, max: 4 })], ([sequence, limit]) => {
    const limits = new MinuteLimits(limit, 100)
    const model = new Map<number, MinuteLimit>()
    let now = 0
    for (const [key, gap] of sequence) {
      now += gap
      const own = model.get(key) ?? new MinuteLimit(limit)
      model.set(key, own)
      const expected = own.allows(now) ? (own.add(now, 1), 0) : Math.max(1, own.resetMs(now))
      expect(limits.take(String(key), now)).toBe(expected)
    }
  })

  it.prop("never holds more than maxKeys keys", [requests, fc.integer({ min: 1, max: 3 })], ([sequence, maxKeys]) => {
    const limits = new MinuteLimits(3, maxKeys)
    let now = 0
    for (const [key, gap] of sequence) {
      limits.take(String(key), (now += gap))
      expect(limits.size).toBeLessThanOrEqual(maxKeys)
    }
  })

  it.prop("lets a refused key in once it has waited what it was told", [requests, fc.integer({ min: 1, max: 4 })], ([sequence, limit]) => {
    const limits = new MinuteLimits(limit, 100)
    let now = 0
    for (const [key, gap] of sequence) {
      const wait = limits.take(String(key), (now += gap))
      if (wait > 0) {
        expect(wait).toBeGreaterThanOrEqual(1)
        expect(limits.take(String(key), (now += wait))).toBe(0)
      }
    }
  })
})
