import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { canonicalJson, TtlCache } from "../src/TtlCache.js"

const cache = (maxEntries = 3, maxBytes = 1000, ttlMs = 1000) => new TtlCache<string>({ maxEntries, maxBytes, ttlMs })

describe("TtlCache", () => {
  it("evicts the least recently used entry beyond maxEntries", () => {
    const c = cache()
    c.set("a", "A", 1, 0)
    c.set("b", "B", 1, 0)
    c.set("c", "C", 1, 0)
    expect(c.get("a", 1)).toBe("A")
    c.set("d", "D", 1, 2)
    expect([c.get("a", 3), c.get("b", 3), c.get("c", 3), c.get("d", 3)]).toEqual(["A", undefined, "C", "D"])
  })

  it("forgets entries after their TTL", () => {
    const c = cache()
    c.set("a", "A", 10, 0)
    expect(c.get("a", 999)).toBe("A")
    expect(c.get("a", 1000)).toBeUndefined()
    expect([c.size, c.bytes]).toEqual([0, 0])
  })

  it("keeps the total bytes within the bound and refuses an entry over a tenth of it", () => {
    const c = cache(100, 1000)
    expect(c.set("big", "x", 101, 0)).toBe(false)
    for (let i = 0; i < 20; i++) c.set(`k${i}`, "v", 100, 0)
    expect(c.bytes).toBe(1000)
    expect(c.get("k19", 0)).toBe("v")
    expect(c.get("k9", 0)).toBeUndefined()
  })

  it("caches nothing with maxEntries 0", () => {
    const c = cache(0)
    expect(c.set("a", "A", 1, 0)).toBe(false)
    expect(c.get("a", 0)).toBeUndefined()
  })

  it.prop(
    "never holds more than its bounds, and its byte count is the sum of its entries",
    [fc.array(fc.tuple(fc.constantFrom("get", "set", "delete"), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 150 }), fc.integer({ min: 0, max: 300 })), { maxLength: 300 })],
    ([ops]) => {
      const c = cache(5, 1000, 500)
      const sizes = new Map<string, number>()
      let now = 0
      for (const [op, k, bytes, advance] of ops) {
        now += advance
        const key = `k${k}`
        if (op === "set" && c.set(key, key, bytes, now)) sizes.set(key, bytes)
        if (op === "get") expect([undefined, key]).toContain(c.get(key, now))
        if (op === "delete") c.delete(key)
        expect(c.size).toBeLessThanOrEqual(5)
        expect(c.bytes).toBeLessThanOrEqual(1000)
      }
    }
  )
})

describe("canonicalJson", () => {
  it("sorts keys at every level and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}')
  })

  it.prop("gives equal text for values equal up to key order", [fc.jsonValue()], ([value]) => {
    const shuffled = JSON.parse(JSON.stringify(value, (_, v) =>
      typeof v === "object" && v !== null && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).reverse())
        : v))
    expect(canonicalJson(shuffled)).toBe(canonicalJson(value))
    expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)))
  })
})
