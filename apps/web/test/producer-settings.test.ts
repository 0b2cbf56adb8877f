import { describe, expect, it } from "vitest"
import { applySettings, defaultForm, loadSettings, runBody, validate } from "../src/producer/settings.js"
import { decodeSettings } from "../../../packages/loadgen/src/Settings.js"

const BASE = "http://127.0.0.1:8090/v1"

describe("a card's settings", () => {
  it("a new card is valid and its run body is settings the engine accepts", () => {
    const form = defaultForm(BASE)
    expect(validate(form)).toEqual({})
    const body = runBody(form, "Card 1")
    expect(body).toEqual({ base_url: BASE, route: "chat", stream: true, max_tokens: 128, concurrency: 4, requests: 100, label: "Card 1" })
    const { label: _, ...settings } = body
    expect(decodeSettings(settings)._tag).toBe("Right")
  })

  it.each([
    [{ base_url: "localhost:8090" }, "base_url"],
    [{ concurrency: 0 }, "concurrency"],
    [{ concurrency: null, rate: null }, "concurrency"],
    [{ rate: -1 }, "rate"],
    [{ requests: null, duration: null }, "requests"],
    [{ duration: 0 }, "duration"],
    [{ max_tokens: 1.5 }, "max_tokens"]
  ] as const)("%j is marked on %s", (patch, field) => {
    expect(Object.keys(validate({ ...defaultForm(BASE), ...patch }))).toContain(field)
  })

  it("a rate with a concurrency sends both (the concurrency caps the open loop); empty fields are left out", () => {
    const form = { ...defaultForm(BASE), rate: 5, concurrency: 10, requests: null, duration: 60, api_key: "", model: " m " }
    expect(runBody(form, "x")).toMatchObject({ rate: 5, concurrency: 10, duration: 60, model: "m" })
    expect(runBody(form, "x")).not.toHaveProperty("requests")
    expect(runBody(form, "x")).not.toHaveProperty("api_key")
  })

  it("a profile's settings fill the form; those without a field (ramp, warm-up) are kept and sent back", () => {
    const settings = { ramp: { from: 1, to: 32, of: "concurrency" }, duration: 120, max_tokens: 64, warmup: { seconds: 5 } }
    const form = applySettings(defaultForm(BASE), settings)
    expect(form).toMatchObject({ duration: 120, max_tokens: 64, concurrency: null, rate: null, requests: null, base_url: BASE })
    expect(validate(form)).toEqual({})
    expect(loadSettings(form)).toEqual({ ...settings, stream: true })
  })
})
