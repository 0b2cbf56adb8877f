import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { type Arrivals, everyNth, makeRng, rampConcurrency, rateArrivals, standardGamma } from "../src/Schedule.js"

const take = (arrivals: Arrivals, until: number): Array<number> => {
  const out: Array<number> = []
  for (let t = arrivals.next(); t !== null && t < until; t = arrivals.next()) out.push(t)
  return out
}

const gapsOf = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

const meanAndCv = (xs: ReadonlyArray<number>) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)
  return { mean, cv: sd / mean }
}

describe("arrival schedules", () => {
  it.prop(
    "a Poisson schedule of rate r over T seconds has about r*T arrivals with exponential gaps (mean 1/r, CV 1)",
    [fc.double({ min: 5, max: 500, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 })],
    ([rate, seed]) => {
      const seconds = 4000 / rate // about 4000 arrivals
      const times = take(rateArrivals({ rate, burstiness: 1, interval: false, seed }), seconds)
      const expected = rate * seconds
      // 5 standard deviations of a Poisson count
      expect(Math.abs(times.length - expected)).toBeLessThan(5 * Math.sqrt(expected))
      const { mean, cv } = meanAndCv(gapsOf(times))
      expect(mean * rate).toBeGreaterThan(0.9)
      expect(mean * rate).toBeLessThan(1.1)
      expect(cv).toBeGreaterThan(0.9)
      expect(cv).toBeLessThan(1.1)
    },
    { fastCheck: { numRuns: 25 } }
  )

  it.prop(
    "gamma arrivals with burstiness b keep the mean gap 1/r and have CV 1/sqrt(b)",
    [fc.double({ min: 0.25, max: 8, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 })],
    ([burstiness, seed]) => {
      const rate = 50
      const times = take(rateArrivals({ rate, burstiness, interval: false, seed }), 200)
      const { mean, cv } = meanAndCv(gapsOf(times))
      expect(mean * rate).toBeGreaterThan(0.9)
      expect(mean * rate).toBeLessThan(1.1)
      const want = 1 / Math.sqrt(burstiness)
      expect(Math.abs(cv - want) / want).toBeLessThan(0.12)
    },
    { fastCheck: { numRuns: 25 } }
  )

  it.prop(
    "gamma with burstiness 1 is the Poisson schedule: gaps -ln(1-U)/r from the same seeded RNG",
    [fc.double({ min: 0.1, max: 1000, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 })],
    ([rate, seed]) => {
      const arrivals = rateArrivals({ rate, burstiness: 1, interval: false, seed })
      const rng = makeRng(seed)
      let t = 0
      expect(arrivals.next()).toBe(0)
      for (let i = 0; i < 200; i++) {
        t += -Math.log(1 - rng()) / rate
        expect(arrivals.next()).toBeCloseTo(t, 9)
      }
    }
  )

  it.prop(
    "standardGamma(k) has mean k and variance k",
    [fc.double({ min: 0.3, max: 10, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 })],
    ([k, seed]) => {
      const rng = makeRng(seed)
      const xs = Array.from({ length: 20_000 }, () => standardGamma(rng, k))
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length
      expect(Math.abs(mean - k) / k).toBeLessThan(0.05)
      expect(Math.abs(variance - k) / k).toBeLessThan(0.12)
    },
    { fastCheck: { numRuns: 15 } }
  )

  it("constant interval: exactly i/r", () => {
    const arrivals = rateArrivals({ rate: 8, burstiness: 1, interval: true, seed: 1 })
    expect(take(arrivals, 1)).toEqual([0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875])
  })

  it("a rate ramp from 0 starts with an arrival at 0, then follows the ramp", () => {
    const times = take(rateArrivals({ rate: 20, burstiness: 1, interval: false, ramp: { from: 0, seconds: 20 }, seed: 0 }), 20)
    expect(times[0]).toBe(0)
    expect(Math.abs(times.length - 200)).toBeLessThan(5 * Math.sqrt(200) + 1)
  })

  it.prop(
    "a linear rate ramp from a to b over T has about (a+b)/2*T arrivals, denser at the end when b > a",
    [fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 20, max: 300, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 })],
    ([from, to, seed]) => {
      const seconds = 20
      const times = take(rateArrivals({ rate: to, burstiness: 1, interval: false, ramp: { from, seconds }, seed }), seconds)
      const expected = ((from + to) / 2) * seconds
      expect(Math.abs(times.length - expected)).toBeLessThan(5 * Math.sqrt(expected) + 1)
      const firstHalf = times.filter((t) => t < seconds / 2).length
      const expectedFirst = (from + (from + to) / 2) / 2 * (seconds / 2)
      expect(Math.abs(firstHalf - expectedFirst)).toBeLessThan(5 * Math.sqrt(expectedFirst) + 1)
    },
    { fastCheck: { numRuns: 25 } }
  )

  it("a constant-interval ramp continues at the final rate after the ramp", () => {
    const times = take(rateArrivals({ rate: 10, burstiness: 1, interval: true, ramp: { from: 10, seconds: 1 }, seed: 0 }), 2)
    expect(times).toHaveLength(20)
    expect(times[19]).toBeCloseTo(1.9, 9)
  })

  it("a concurrency ramp goes linearly from a to b and holds b", () => {
    expect([0, 2.5, 5, 7.5, 10, 20].map((t) => rampConcurrency(1, 9, 10, t))).toEqual([1, 3, 5, 7, 9, 9])
    expect(rampConcurrency(0, 4, 10, 0)).toBe(1)
  })

  it.prop(
    "worker threads split one schedule: the every-N-th shares together are the whole schedule",
    [fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 ** 31 })],
    ([n, seed]) => {
      const shape = { rate: 100, burstiness: 0.5, interval: false, seed }
      const whole = take(rateArrivals(shape), 5)
      const parts = Array.from({ length: n }, (_, i) => take(everyNth(rateArrivals(shape), n, i), 5))
      expect(parts.flat().sort((a, b) => a - b)).toEqual(whole)
    }
  )

  it("the same seed gives the same schedule, another seed another", () => {
    const a = take(rateArrivals({ rate: 10, burstiness: 1, interval: false, seed: 7 }), 10)
    const b = take(rateArrivals({ rate: 10, burstiness: 1, interval: false, seed: 7 }), 10)
    const c = take(rateArrivals({ rate: 10, burstiness: 1, interval: false, seed: 8 }), 10)
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
  })
})
