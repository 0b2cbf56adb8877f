import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { formatResetDuration, MinuteLimit, TokenLimit } from "../src/RateLimit.js"

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

interface Request {
  readonly at: number
  readonly duration: number
  readonly estimate: number
  readonly actual: number
}

const requests = fc.array(
  fc.record({
    at: fc.integer({ min: 0, max: 180_000 }),
    duration: fc.integer({ min: 1, max: 20_000 }),
    estimate: fc.integer({ min: 0, max: 300 }),
    actual: fc.integer({ min: 0, max: 400 })
  }),
  { maxLength: 80 }
)

/**
 * Runs requests against a limit in time order (each admitted one holds its estimate until it ends and
 * then counts its real usage), calling `check` after every step.
 */
const simulate = (
  limit: TokenLimit,
  all: ReadonlyArray<Request>,
  check: (now: number, settled: ReadonlyArray<{ readonly at: number; readonly overrun: number }>) => void
) => {
  const events = all.flatMap((request, i) => [
    { at: request.at, i, start: true },
    { at: request.at + request.duration, i, start: false }
  ]).sort((a, b) => a.at - b.at || Number(a.start) - Number(b.start)) // ends first: their room is free at once
  const held = new Map<number, number>()
  const settled: Array<{ at: number; overrun: number }> = []
  for (const event of events) {
    const request = all[event.i]!
    if (event.start) {
      if (limit.allows(event.at, request.estimate)) held.set(event.i, limit.reserve(request.estimate))
      else expect(limit.used(event.at) + limit.holding(request.estimate)).toBeGreaterThan(limit.limit)
    } else if (held.has(event.i)) {
      const amount = held.get(event.i)!
      limit.settle(event.at, amount, request.actual)
      held.delete(event.i)
      settled.push({ at: event.at, overrun: Math.max(0, request.actual - amount) })
    }
    check(event.at, settled)
  }
  return held.size
}

describe("tokens per minute with reservations", () => {
  it.prop(
    "what is counted never exceeds the limit by more than the real usage that exceeded its estimates in the minute",
    [requests, fc.integer({ min: 1, max: 1_000 })],
    ([all, max]) => {
      const limit = new TokenLimit(max)
      const open = simulate(limit, all, (now, settled) => {
        const second = Math.floor(now / 1000)
        const overrun = settled.filter((s) => Math.floor(s.at / 1000) > second - 60).reduce((sum, s) => sum + s.overrun, 0)
        expect(limit.used(now)).toBeLessThanOrEqual(max + overrun)
      })
      expect(open).toBe(0)
    }
  )

  it.prop(
    "when no request uses more than it held, the minute never holds more than the limit",
    [requests, fc.integer({ min: 1, max: 1_000 })],
    ([all, max]) => {
      const limit = new TokenLimit(max)
      simulate(limit, all.map((r) => ({ ...r, actual: Math.min(r.actual, r.estimate, max) })), (now) => {
        expect(limit.used(now)).toBeLessThanOrEqual(max)
      })
    }
  )

  it.prop(
    "of requests arriving together, exactly as many start as their estimates fit in the limit (one alone when it exceeds it)",
    [fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 1_500 }), fc.integer({ min: 1, max: 30 })],
    ([max, estimate, count]) => {
      const limit = new TokenLimit(max)
      let started = 0
      for (let i = 0; i < count; i++) {
        if (limit.allows(5_000, estimate)) {
          limit.reserve(estimate)
          started++
        }
      }
      expect(started).toBe(Math.min(count, estimate > max ? 1 : Math.floor(max / estimate)))
    }
  )

  it.prop(
    "gives back what a request held beyond its real usage, all of it on a failure",
    [fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 0, max: 1_000 })],
    ([max, estimate, actual]) => {
      const limit = new TokenLimit(max)
      const held = limit.reserve(estimate)
      expect(limit.used(0)).toBe(Math.min(Math.max(1, estimate), max))
      limit.settle(100, held, actual)
      expect(limit.used(200)).toBe(actual)
      expect(limit.used(60_000)).toBe(0)
    }
  )

  it.prop(
    "waitMs is exactly the wait until a request of that estimate fits",
    [requests, fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 600 })],
    ([all, max, estimate]) => {
      const limit = new TokenLimit(max)
      simulate(limit, all, () => {})
      const now = Math.max(0, ...all.map((r) => r.at + r.duration))
      const wait = limit.waitMs(now, estimate)
      expect(limit.allows(now + wait, estimate)).toBe(true)
      if (wait > 0) expect(limit.allows(now + wait - 1, estimate)).toBe(false)
      expect(limit.resetMs(now)).toBe(limit.waitMs(now, 1))
    }
  )

  it("holds at least a token, so a full minute refuses even a request estimated at nothing", () => {
    const limit = new TokenLimit(10)
    limit.settle(0, limit.reserve(10), 10)
    expect([limit.holding(0), limit.allows(500, 0), limit.waitMs(500, 0)]).toEqual([1, false, 59_500])
  })

  it("while requests in flight hold the whole limit, asks a refused one to wait at least a second", () => {
    const limit = new TokenLimit(500)
    for (let i = 0; i < 4; i++) limit.reserve(110)
    expect([limit.allows(0, 110), limit.remaining(0), limit.waitMs(0, 110), limit.waitMs(0, 60)]).toEqual([false, 60, 1000, 0])
    const successor = limit.withLimit(1000)
    expect([successor.allows(0, 110), successor.remaining(0)]).toEqual([true, 560])
    limit.settle(2_000, 110, 100)
    expect([successor.used(2_000), limit.used(2_000)]).toEqual([430, 430])
  })
})
