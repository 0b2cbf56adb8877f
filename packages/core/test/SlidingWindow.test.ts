import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { SlidingWindow } from "../src/SlidingWindow.js"

type Op = { readonly dt: number; readonly add: boolean; readonly amount: number }

/** The window by brute force: every event kept, counted by its second. */
class BruteForce {
  private readonly events: Array<readonly [second: number, amount: number]> = []
  constructor(readonly seconds: number) {}
  add(nowMs: number, amount: number) {
    this.events.push([Math.floor(nowMs / 1000), amount])
  }
  sum(nowMs: number) {
    const current = Math.floor(nowMs / 1000)
    return this.events.filter(([s]) => s > current - this.seconds && s <= current).reduce((sum, [, n]) => sum + n, 0)
  }
  /** The first whole second at which the sum is below the limit, as milliseconds from now. */
  msUntilBelow(nowMs: number, limit: number) {
    if (this.sum(nowMs) < limit) return 0
    const current = Math.floor(nowMs / 1000)
    for (let k = 1; k <= this.seconds; k++) {
      if (this.sum((current + k) * 1000) < limit) return (current + k) * 1000 - nowMs
    }
    return this.seconds * 1000
  }
}

/** The former implementation, which scanned every bucket on each sum: the reference for any clock. */
class ScanWindow {
  private readonly buckets: Float64Array
  private readonly stamps: Float64Array
  constructor(readonly seconds: number) {
    this.buckets = new Float64Array(seconds)
    this.stamps = new Float64Array(seconds).fill(-1)
  }
  add(nowMs: number, amount: number) {
    const second = Math.floor(nowMs / 1000)
    const slot = second % this.seconds
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second
      this.buckets[slot] = 0
    }
    this.buckets[slot]! += amount
  }
  sum(nowMs: number) {
    const oldest = Math.floor(nowMs / 1000) - this.seconds + 1
    let total = 0
    for (let i = 0; i < this.seconds; i++) if (this.stamps[i]! >= oldest) total += this.buckets[i]!
    return total
  }
}

/** Adds and reads (sum, rate, msUntilBelow) at times advancing by `dt`, checked against brute force. */
const checkAgainstBruteForce = (seconds: number, start: number, ops: ReadonlyArray<Op>, limit: number) => {
  const window = new SlidingWindow(seconds)
  const brute = new BruteForce(seconds)
  let now = start
  for (const { add, amount, dt } of ops) {
    now += dt
    if (add) {
      window.add(now, amount)
      brute.add(now, amount)
    } else {
      const expected = brute.sum(now)
      expect([now, window.sum(now)]).toEqual([now, expected])
      expect(window.rate(now)).toBe(expected / seconds)
      expect([now, window.msUntilBelow(now, limit)]).toEqual([now, brute.msUntilBelow(now, limit)])
    }
  }
  expect(window.sum(now)).toBe(brute.sum(now))
}

const op = (dt: FastCheck.Arbitrary<number>) =>
  FastCheck.record({ dt, add: FastCheck.boolean(), amount: FastCheck.integer({ min: 0, max: 1000 }) })

describe("SlidingWindow", () => {
  it("sums what was added in the last N seconds and forgets older buckets", () => {
    const window = new SlidingWindow(10)
    window.add(1_000, 5)
    window.add(1_999, 1)
    window.add(5_500, 10)
    expect(window.sum(5_500)).toBe(16)
    expect(window.rate(5_500)).toBe(1.6)
    expect(window.sum(10_999)).toBe(16)
    expect(window.sum(11_000)).toBe(10)
    expect(window.sum(15_000)).toBe(0)
  })

  it("reuses a slot for a new second instead of adding to the stale value", () => {
    const window = new SlidingWindow(3)
    window.add(0, 7)
    window.add(3_000, 2)
    expect(window.sum(3_000)).toBe(2)
  })

  it("clears", () => {
    const window = new SlidingWindow(10)
    window.add(100, 3)
    window.clear()
    expect(window.sum(100)).toBe(0)
  })

  it.prop(
    "equals a brute-force count of the events inside the window",
    [FastCheck.array(FastCheck.tuple(FastCheck.integer({ min: 0, max: 60_000 }), FastCheck.integer({ min: 0, max: 1000 }))), FastCheck.integer({ min: 1, max: 20 })],
    ([events, seconds]) => {
      const sorted = [...events].sort((a, b) => a[0] - b[0])
      const window = new SlidingWindow(seconds)
      for (const [t, n] of sorted) window.add(t, n)
      const now = sorted.length === 0 ? 0 : sorted[sorted.length - 1]![0]
      const oldest = Math.floor(now / 1000) - seconds + 1
      const expected = sorted.filter(([t]) => Math.floor(t / 1000) >= oldest).reduce((sum, [, n]) => sum + n, 0)
      expect(window.sum(now)).toBe(expected)
    }
  )

  it.prop(
    "interleaved adds and reads at non-decreasing times equal brute force",
    [
      FastCheck.integer({ min: 1, max: 20 }),
      FastCheck.integer({ min: 0, max: 1e12 }),
      // mostly within the same or the next seconds, so that seconds repeat and buckets fill
      FastCheck.array(op(FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 1500 }), FastCheck.integer({ min: 0, max: 25_000 }))), { maxLength: 200 }),
      FastCheck.integer({ min: 1, max: 5000 })
    ],
    ([seconds, start, ops, limit]) => checkAgainstBruteForce(seconds, start, ops, limit)
  )

  it.prop(
    "equals brute force across time jumps far beyond the window",
    [
      FastCheck.integer({ min: 1, max: 300 }),
      FastCheck.array(op(FastCheck.oneof(FastCheck.integer({ min: 0, max: 2000 }), FastCheck.integer({ min: 0, max: 1e15 }))), { maxLength: 60 }),
      FastCheck.integer({ min: 1, max: 5000 })
    ],
    ([seconds, ops, limit]) => checkAgainstBruteForce(seconds, 0, ops, limit)
  )

  it("jumps a long way at once, and repeats a second", () => {
    const window = new SlidingWindow(300)
    window.add(0, 4)
    window.add(299_999, 1)
    expect(window.sum(299_999)).toBe(5)
    expect(window.sum(300_000)).toBe(1)
    window.add(Number.MAX_SAFE_INTEGER - 1, 2) // one step, not 9e12 of them
    window.add(Number.MAX_SAFE_INTEGER, 3)
    expect(window.sum(Number.MAX_SAFE_INTEGER)).toBe(5)
    expect(window.sum(Number.MAX_SAFE_INTEGER + 300_000)).toBe(0)
  })

  it.prop(
    "matches the scanning implementation on any clock, one that goes back included",
    [
      FastCheck.integer({ min: 1, max: 12 }),
      FastCheck.array(FastCheck.record({ t: FastCheck.integer({ min: 0, max: 40_000 }), add: FastCheck.boolean(), amount: FastCheck.integer({ min: 0, max: 1000 }) }), { maxLength: 150 })
    ],
    ([seconds, ops]) => {
      const window = new SlidingWindow(seconds)
      const reference = new ScanWindow(seconds)
      for (const { add, amount, t } of ops) {
        if (add) {
          window.add(t, amount)
          reference.add(t, amount)
        } else {
          expect([t, window.sum(t)]).toEqual([t, reference.sum(t)])
        }
      }
    }
  )

  it("reads a bounded number of buckets per add and sum, not the whole ring", () => {
    const window = new SlidingWindow(300)
    // Count the ring's reads (its fields are private: reached around the type for this check only).
    let reads = 0
    const internals = window as unknown as Record<"buckets" | "stamps", Float64Array>
    for (const field of ["buckets", "stamps"] as const) {
      internals[field] = new Proxy(internals[field], {
        get: (target, key) => {
          if (typeof key === "string" && /^\d+$/.test(key)) reads++
          return Reflect.get(target, key, target)
        }
      })
    }
    let calls = 0
    for (let ms = 0; ms < 2_000_000; ms += 250) {
      window.add(ms, 1)
      for (let i = 0; i < 5; i++) window.sum(ms)
      calls += 6
    }
    expect(window.sum(2_000_000)).toBe(1200 - 4) // the last 300 s at 4 a second, less the second not yet begun
    expect(reads / calls).toBeLessThan(3)
  })
})
