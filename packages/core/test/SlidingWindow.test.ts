import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { SlidingWindow } from "../src/SlidingWindow.js"

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
})
