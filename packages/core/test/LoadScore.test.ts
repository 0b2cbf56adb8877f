import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { estimatedTtftMs, type LoadCandidate, pickByLoad } from "../src/LoadScore.js"

const settings = { minMatch: 0.8, maxPenaltyMs: 2000 }

const candidate = (over: Partial<LoadCandidate> = {}): LoadCandidate => ({
  saturated: false,
  match: 0,
  inflightPromptTokens: 0,
  uncachedTokens: 1000,
  prefillPerMs: 10,
  queue: 0,
  inflight: 0,
  ...over
})

const candidateArb = fc.record({
  saturated: fc.boolean(),
  match: fc.double({ min: 0, max: 1, noNaN: true }),
  inflightPromptTokens: fc.nat(100_000),
  uncachedTokens: fc.nat(10_000),
  prefillPerMs: fc.double({ min: 0.1, max: 100, noNaN: true }),
  queue: fc.nat(20),
  inflight: fc.nat(50)
})

describe("routing mode load", () => {
  it("estimates TTFT as in-flight plus own uncached tokens over the prefill rate", () => {
    expect(estimatedTtftMs(candidate({ inflightPromptTokens: 3000, uncachedTokens: 1000, prefillPerMs: 20 }))).toBe(200)
  })

  it("returns -1 without candidates", () => {
    expect(pickByLoad([], settings)).toBe(-1)
  })

  it.prop("never picks a saturated candidate while an unsaturated one exists", [fc.array(candidateArb, { minLength: 1, maxLength: 50 })], ([cs]) => {
    const i = pickByLoad(cs, settings)
    expect(i).toBeGreaterThanOrEqual(0)
    if (cs.some((c) => !c.saturated)) expect(cs[i]!.saturated).toBe(false)
  })

  it.prop(
    "picks an affine candidate unless it is more than the penalty slower than the best other",
    [fc.array(candidateArb.map((c) => ({ ...c, saturated: false })), { minLength: 1, maxLength: 20 })],
    ([cs]) => {
      const chosen = cs[pickByLoad(cs, settings)]!
      const affine = cs.filter((c) => c.match >= settings.minMatch && c.match > 0)
      const others = cs.filter((c) => !(c.match >= settings.minMatch && c.match > 0))
      const best = (list: ReadonlyArray<LoadCandidate>) => Math.min(...list.map(estimatedTtftMs))
      if (affine.length > 0 && (others.length === 0 || best(affine) <= best(others) + settings.maxPenaltyMs)) {
        expect(affine).toContain(chosen)
        expect(estimatedTtftMs(chosen)).toBe(best(affine))
      } else {
        expect(estimatedTtftMs(chosen)).toBe(best(cs))
      }
    }
  )

  it("goes where the prefix is cached even when that endpoint is a little busier", () => {
    const cached = candidate({ match: 0.95, uncachedTokens: 50, inflightPromptTokens: 8000 })
    const idle = candidate({ match: 0, uncachedTokens: 1000 })
    expect(pickByLoad([idle, cached], settings)).toBe(1)
  })

  it("leaves the cached endpoint when waiting there would cost more than the penalty", () => {
    const cached = candidate({ match: 0.95, uncachedTokens: 50, inflightPromptTokens: 40_000 })
    const idle = candidate({ match: 0, uncachedTokens: 1000 })
    expect(pickByLoad([cached, idle], settings)).toBe(1)
  })

  it("breaks equal estimates by the engine queue, then by in-flight requests", () => {
    expect(pickByLoad([candidate({ queue: 3 }), candidate({ queue: 1 })], settings)).toBe(1)
    expect(pickByLoad([candidate({ inflight: 3 }), candidate({ inflight: 1 })], settings)).toBe(1)
  })
})
