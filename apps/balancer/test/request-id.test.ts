import { describe, expect, it } from "vitest"
import { RequestIds } from "../src/proxy/RequestId.js"

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("request ids", () => {
  it("makes distinct version-4 UUIDs, also across batches of random bytes", () => {
    const ids = new RequestIds()
    const made = Array.from({ length: 1_000 }, () => ids.uuid())
    for (const id of made) expect(id).toMatch(UUID_V4)
    expect(new Set(made).size).toBe(made.length)
  })

  it("draws every bit but the version and variant at random", () => {
    // Over 1,000 UUIDs each free hex digit takes all 16 values; the version digit only 4, the variant's 8 to b.
    const ids = new RequestIds()
    const digits = Array.from({ length: 36 }, () => new Set<string>())
    for (let n = 0; n < 1_000; n++) [...ids.uuid()].forEach((c, i) => digits[i]!.add(c))
    digits.forEach((seen, i) => {
      if ([8, 13, 18, 23].includes(i)) expect([...seen]).toEqual(["-"])
      else if (i === 14) expect([...seen]).toEqual(["4"])
      else if (i === 19) expect([...seen].sort()).toEqual(["8", "9", "a", "b"])
      else expect(seen.size).toBe(16)
    })
  })

  it("keeps a client's sane X-Request-ID and replaces anything else", () => {
    const ids = new RequestIds()
    expect(ids.of("req-123_abc")).toBe("req-123_abc")
    for (const given of [undefined, "", "has space", "x".repeat(201), "é", ["a", "b"]]) expect(ids.of(given)).toMatch(UUID_V4)
  })
})
