import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { percentile, summarize } from "../src/Stats.js"

/** numpy.percentile(x, q) ("linear"), written from its definition: rank q/100*(n-1) between neighbours. */
const naivePercentile = (xs: ReadonlyArray<number>, q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  const h = (s.length - 1) * (q / 100)
  const lower = s[Math.floor(h)]!
  const upper = s[Math.ceil(h)]!
  return lower + (h - Math.floor(h)) * (upper - lower)
}

const samples = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 })

describe("statistics", () => {
  it.prop("percentiles equal numpy's linear interpolation", [samples, fc.double({ min: 0, max: 100, noNaN: true })], ([xs, q]) => {
    expect(percentile(xs, q)).toBeCloseTo(naivePercentile(xs, q), 6)
  })

  it.prop("summary: mean, population std, median = p50, ordered percentiles", [samples], ([xs]) => {
    const s = summarize(xs)
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)
    expect(s.mean).toBeCloseTo(mean, 6)
    expect(s.std).toBeCloseTo(std, 4)
    expect(s.median).toBe(s.p50)
    expect(s.p50).toBeCloseTo(naivePercentile(xs, 50), 6)
    expect(s.p50).toBeLessThanOrEqual(s.p90)
    expect(s.p90).toBeLessThanOrEqual(s.p95)
    expect(s.p95).toBeLessThanOrEqual(s.p99)
  })

  it("known values: [1, 2, 3, 4]", () => {
    // numpy: np.percentile([1, 2, 3, 4], [50, 90, 95, 99]) = [2.5, 3.7, 3.85, 3.97], np.std = 1.118...
    const want = { mean: 2.5, median: 2.5, std: Math.sqrt(1.25), p50: 2.5, p90: 3.7, p95: 3.85, p99: 3.97 }
    const got = summarize([1, 2, 3, 4])
    for (const [key, value] of Object.entries(want)) expect(got[key as keyof typeof got]).toBeCloseTo(value, 12)
  })

  it("no samples: zeros, as vLLM reports them", () => {
    expect(summarize([])).toEqual({ mean: 0, median: 0, std: 0, p50: 0, p90: 0, p95: 0, p99: 0 })
  })
})
