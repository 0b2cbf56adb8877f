import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { catchUpCredit, deficits, isFull, pickByDeficit, pickByPriority, targetShares } from "../src/Routing.js"

/** Sends every request through the deficit rule and returns the tokens each candidate got. */
const simulate = (quotas: ReadonlyArray<number>, requests: ReadonlyArray<{ size: number; estimate: number }>) => {
  const served = quotas.map(() => 0)
  for (const { estimate, size } of requests) {
    const i = pickByDeficit(quotas.map((quota, k) => ({ quota, tokens: served[k]! })), estimate)
    served[i]! += size
  }
  return served
}

const quotasArb = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 })

describe("percentage routing (deficit rule)", () => {
  it("renormalises quotas and gives equal shares when all are zero", () => {
    expect(targetShares([50, 30, 20])).toEqual([0.5, 0.3, 0.2])
    expect(targetShares([60, 0, 20])).toEqual([0.75, 0, 0.25])
    expect(targetShares([0, 0])).toEqual([0.5, 0.5])
  })

  it("picks the candidate furthest below its share once the request is counted", () => {
    expect(deficits([{ quota: 50, tokens: 100 }, { quota: 50, tokens: 0 }], 100)).toEqual([0, 100])
    expect(pickByDeficit([{ quota: 50, tokens: 100 }, { quota: 50, tokens: 0 }], 100)).toBe(1)
    expect(pickByDeficit([{ quota: 80, tokens: 0 }, { quota: 20, tokens: 0 }], 10)).toBe(0)
    expect(pickByDeficit([], 10)).toBe(-1)
  })

  it.prop(
    "picks the first largest of `deficits`, for any quotas, tokens and estimate",
    [
      fc.array(fc.record({ quota: fc.integer({ min: 0, max: 100 }), tokens: fc.integer({ min: 0, max: 1e9 }) }), { maxLength: 8 }),
      fc.integer({ min: 0, max: 1e6 })
    ],
    ([candidates, estimate]) => {
      const d = deficits(candidates, estimate)
      const expected = d.length === 0 ? -1 : d.indexOf(Math.max(...d))
      expect(pickByDeficit(candidates, estimate)).toBe(expected)
    }
  )

  it("splits 50/30/20 exactly for equal requests", () => {
    const served = simulate([50, 30, 20], Array.from({ length: 100 }, () => ({ size: 10, estimate: 10 })))
    expect(served).toEqual([500, 300, 200])
  })

  it.prop(
    "keeps every endpoint within one largest request of its target share, for any quotas and sizes",
    [quotasArb, fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 400 })],
    ([quotas, sizes]) => {
      const served = simulate(quotas, sizes.map((size) => ({ size, estimate: size })))
      const total = served.reduce((a, b) => a + b, 0)
      const largest = Math.max(...sizes)
      const shares = targetShares(quotas)
      served.forEach((tokens, i) => expect(Math.abs(tokens - shares[i]! * total)).toBeLessThanOrEqual(largest))
    }
  )

  it.prop(
    "stays within two largest requests when the estimates are off by up to 4x either way",
    [
      quotasArb,
      fc.array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0.25, max: 4, noNaN: true })), { minLength: 1, maxLength: 400 })
    ],
    ([quotas, requests]) => {
      const served = simulate(quotas, requests.map(([size, error]) => ({ size, estimate: Math.max(1, size * error) })))
      const total = served.reduce((a, b) => a + b, 0)
      const largest = Math.max(...requests.map(([size]) => size))
      const shares = targetShares(quotas)
      served.forEach((tokens, i) => expect(Math.abs(tokens - shares[i]! * total)).toBeLessThanOrEqual(2 * largest))
    }
  )

  it.prop(
    "never sends to a zero-quota endpoint while one with a quota is a candidate",
    [fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 100 })],
    ([positive, sizes]) => {
      const served = simulate([0, ...positive, 0], sizes.map((size) => ({ size, estimate: size })))
      expect(served[0]).toBe(0)
      expect(served[served.length - 1]).toBe(0)
    }
  )

  it("credits a returning endpoint so that its deficit counts for at most the cap", () => {
    expect(catchUpCredit(10_000, 300)).toBe(9_700)
    expect(catchUpCredit(200, 300)).toBe(0)
    expect(catchUpCredit(-50, 300)).toBe(0)
  })
})

describe("priority routing", () => {
  const c = (priority: number, inflight: number, maxConcurrent = 0) => ({ priority, inflight, maxConcurrent })

  it("sends to the lowest priority_order first, overflowing to the next when it is full", () => {
    expect(pickByPriority([c(1, 0), c(0, 5)], 0)).toBe(1)
    expect(pickByPriority([c(1, 0), c(0, 2, 2)], 0)).toBe(0)
    expect(pickByPriority([c(0, 2, 2), c(1, 1, 1)], 0)).toBe(-1)
  })

  it("among equal priority_order takes the least in-flight, then turns round-robin", () => {
    expect(pickByPriority([c(0, 3), c(0, 1), c(0, 2)], 0)).toBe(1)
    const picks = [0, 1, 2, 3, 4, 5].map((turn) => pickByPriority([c(0, 0), c(0, 0), c(0, 0)], turn))
    expect(picks).toEqual([0, 1, 2, 0, 1, 2])
  })

  it.prop(
    "never exceeds max_concurrent and always takes the best non-full priority",
    [
      fc.array(fc.record({ priority: fc.integer({ min: 0, max: 3 }), maxConcurrent: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.oneof(fc.constant("arrive" as const), fc.nat({ max: 4 })), { maxLength: 300 })
    ],
    ([endpoints, events]) => {
      const inflight = endpoints.map(() => 0)
      let turn = 0
      for (const event of events) {
        if (event === "arrive") {
          const candidates = endpoints.map((e, i) => ({ ...e, inflight: inflight[i]! }))
          const i = pickByPriority(candidates, turn++)
          if (i === -1) {
            expect(candidates.every(isFull)).toBe(true)
            continue
          }
          const open = candidates.filter((x) => !isFull(x))
          expect(candidates[i]!.priority).toBe(Math.min(...open.map((x) => x.priority)))
          inflight[i]!++
        } else if (event < endpoints.length && inflight[event]! > 0) {
          inflight[event]!--
        }
        endpoints.forEach((e, i) => {
          if (e.maxConcurrent > 0) expect(inflight[i]).toBeLessThanOrEqual(e.maxConcurrent)
        })
      }
    }
  )
})
