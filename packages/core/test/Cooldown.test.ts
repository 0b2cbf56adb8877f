import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Cooldown from "../src/Cooldown.js"

const settings = { threshold: 3, cooldownMs: 20_000 }

describe("cooldown state machine", () => {
  it("opens after the threshold of consecutive failures, for the cooldown or the Retry-After if longer", () => {
    let s = Cooldown.closed
    s = Cooldown.onFailure(s, 0, settings)
    s = Cooldown.onFailure(s, 0, settings)
    expect(Cooldown.phase(s, 0)).toBe("closed")
    s = Cooldown.onFailure(s, 1_000, settings)
    expect(Cooldown.phase(s, 1_000)).toBe("open")
    expect(Cooldown.remainingSeconds(s, 1_000)).toBe(20)
    expect(Cooldown.canSend(s, 20_999)).toBe(false)
    expect(Cooldown.phase(s, 21_000)).toBe("half-open")
    const longer = Cooldown.onFailure(Cooldown.onFailure(Cooldown.onFailure(Cooldown.closed, 0, settings), 0, settings), 0, settings, 60_000)
    expect(Cooldown.remainingSeconds(longer, 0)).toBe(60)
  })

  it("lets one probe through when half-open; its success closes, its failure re-opens", () => {
    const open = { failures: 3, openUntil: 10_000, probing: false }
    expect(Cooldown.canSend(open, 10_000)).toBe(true)
    const probing = Cooldown.onSend(open, 10_000)
    expect(Cooldown.canSend(probing, 10_000)).toBe(false)
    expect(Cooldown.onSuccess(probing)).toBe(Cooldown.closed)
    const reopened = Cooldown.onFailure(probing, 12_000, settings)
    expect([Cooldown.phase(reopened, 12_000), reopened.openUntil]).toEqual(["open", 32_000])
    expect(Cooldown.canSend(Cooldown.onAbandon(probing), 10_000)).toBe(true)
  })

  it("a success resets the count of consecutive failures", () => {
    const s = Cooldown.onFailure(Cooldown.onFailure(Cooldown.closed, 0, settings), 0, settings)
    const after = Cooldown.onFailure(Cooldown.onSuccess(s), 0, settings)
    expect(after.failures).toBe(1)
    expect(Cooldown.phase(after, 0)).toBe("closed")
  })

  type Event = { kind: "fail" | "ok" | "send" | "abandon"; advance: number; retryAfter: number }
  const event = fc.record({
    kind: fc.constantFrom("fail", "ok", "send", "abandon") as fc.Arbitrary<Event["kind"]>,
    advance: fc.integer({ min: 0, max: 30_000 }),
    retryAfter: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 90_000 }))
  })

  it.prop("follows the rules for any sequence of events", [fc.array(event, { maxLength: 200 })], ([events]) => {
    let s = Cooldown.closed
    let now = 0
    let streak = 0
    for (const e of events) {
      now += e.advance
      const before = s
      const phaseBefore = Cooldown.phase(before, now)
      switch (e.kind) {
        case "send":
          if (!Cooldown.canSend(s, now)) continue
          s = Cooldown.onSend(s, now)
          if (phaseBefore === "half-open") expect(Cooldown.canSend(s, now)).toBe(false)
          break
        case "ok":
          s = Cooldown.onSuccess(s)
          streak = 0
          expect(Cooldown.canSend(s, now)).toBe(true)
          break
        case "fail":
          s = Cooldown.onFailure(s, now, settings, e.retryAfter)
          streak++
          if (before.probing || streak >= settings.threshold) {
            expect(Cooldown.phase(s, now)).toBe("open")
            expect(s.openUntil).toBe(now + Math.max(settings.cooldownMs, e.retryAfter))
          } else {
            expect(s.openUntil).toBe(before.openUntil)
          }
          break
        case "abandon":
          s = Cooldown.onAbandon(s)
          expect(s.probing).toBe(false)
          break
      }
      expect(s.failures).toBe(streak)
      // Never sends while open.
      if (Cooldown.phase(s, now) === "open") expect(Cooldown.canSend(s, now)).toBe(false)
    }
  })
})
