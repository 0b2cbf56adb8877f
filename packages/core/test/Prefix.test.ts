import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { blockCount, capacityOf, DEFAULT_CAPACITY, MAX_BLOCKS, matchRatio, PrefixSet } from "../src/Prefix.js"

/** A chain whose block i stands for (prompt `p`, prefix of length i+1): distinct prompts share nothing. */
const chainOf = (prompt: number, length: number) => Array.from({ length }, (_, i) => prompt * 100_000 + i)

/** The leading match by a linear scan, the definition the binary search must agree with. */
const linearMatch = (set: PrefixSet, chain: ReadonlyArray<number>) => {
  let n = 0
  while (n < chain.length && set.has(chain[n]!)) n++
  return n
}

describe("prefix blocks", () => {
  it("counts 64-character blocks, a partial last one included, capped at 8,192", () => {
    expect(blockCount(0)).toBe(0)
    expect(blockCount(1)).toBe(1)
    expect(blockCount(64)).toBe(1)
    expect(blockCount(65)).toBe(2)
    expect(blockCount(64 * 10_000)).toBe(MAX_BLOCKS)
  })

  it("sizes a set from the engine's cache (blocks x block size / 16 tokens), else 32,768", () => {
    expect(capacityOf(1000, 16)).toBe(1000)
    expect(capacityOf(1000, 32)).toBe(2000)
    expect(capacityOf(undefined, 16)).toBe(DEFAULT_CAPACITY)
    expect(capacityOf(0, 16)).toBe(DEFAULT_CAPACITY)
  })

  it("gives the match ratio as leading blocks found over the request's blocks", () => {
    expect(matchRatio(0, 0)).toBe(0)
    expect(matchRatio(3, 4)).toBe(0.75)
  })
})

describe("PrefixSet", () => {
  it.prop(
    "never holds more blocks than its capacity",
    [fc.integer({ min: 1, max: 200 }), fc.array(fc.tuple(fc.nat(20), fc.integer({ min: 0, max: 300 })), { maxLength: 30 })],
    ([capacity, requests]) => {
      const set = new PrefixSet(capacity)
      for (const [prompt, length] of requests) {
        set.record(chainOf(prompt, length))
        expect(set.size).toBeLessThanOrEqual(capacity)
      }
    }
  )

  it.prop(
    "finds the same leading match by binary search as a linear scan, whatever was evicted",
    [
      fc.integer({ min: 1, max: 120 }),
      fc.array(fc.tuple(fc.nat(6), fc.integer({ min: 0, max: 80 })), { maxLength: 40 }),
      fc.tuple(fc.nat(6), fc.integer({ min: 0, max: 80 }))
    ],
    ([capacity, requests, [prompt, length]]) => {
      const set = new PrefixSet(capacity)
      for (const [p, n] of requests) set.record(chainOf(p, n))
      const chain = chainOf(prompt, length)
      expect(set.matched(chain)).toBe(linearMatch(set, chain))
    }
  )

  it.prop(
    "matches a chain it has just recorded in full when it fits",
    [fc.integer({ min: 1, max: 500 }), fc.nat(10)],
    ([length, prompt]) => {
      const set = new PrefixSet(500)
      set.record(chainOf(prompt, length))
      expect(set.matched(chainOf(prompt, length))).toBe(length)
      // a longer request sharing that prefix matches exactly the shared part
      expect(set.matched(chainOf(prompt, length + 7))).toBe(length)
    }
  )

  it("evicts the least recently sent prompt first, and keeps the leading blocks of a chain longest", () => {
    const set = new PrefixSet(10)
    set.record(chainOf(1, 6))
    set.record(chainOf(2, 6)) // 12 blocks: the last two of prompt 1 go
    expect(set.matched(chainOf(1, 6))).toBe(4)
    expect(set.matched(chainOf(2, 6))).toBe(6)
  })

  it.prop(
    "behaves as an exact LRU set, for any keys below 2^53 and any capacity changes",
    [
      fc.integer({ min: 1, max: 600 }),
      fc.array(
        fc.oneof(
          fc.record({ record: fc.array(fc.oneof(fc.nat(700), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), { maxLength: 300 }) }),
          fc.record({ resize: fc.integer({ min: 1, max: 600 }) }),
          fc.record({ clear: fc.constant(true) })
        ),
        { maxLength: 25 }
      )
    ],
    ([capacity, ops]) => {
      const set = new PrefixSet(capacity)
      // The model: a Map in recency order, least recent first.
      const model = new Map<number, true>()
      let cap = capacity
      const evict = () => {
        for (const key of model.keys()) {
          if (model.size <= cap) break
          model.delete(key)
        }
      }
      for (const op of ops) {
        if ("record" in op) {
          set.record(op.record)
          for (let i = Math.min(op.record.length, cap) - 1; i >= 0; i--) {
            model.delete(op.record[i]!)
            model.set(op.record[i]!, true)
            evict()
          }
        } else if ("resize" in op) {
          set.resize(op.resize)
          cap = op.resize
          evict()
        } else {
          set.clear()
          model.clear()
        }
        expect(set.size).toBe(model.size)
        for (const key of model.keys()) expect(set.has(key)).toBe(true)
        for (const op2 of ops) if ("record" in op2) for (const key of op2.record) expect(set.has(key)).toBe(model.has(key))
      }
    }
  )

  it("shrinks to a smaller capacity reported later", () => {
    const set = new PrefixSet(100)
    set.record(chainOf(1, 50))
    set.resize(20)
    expect(set.size).toBe(20)
    expect(set.matched(chainOf(1, 50))).toBe(20)
  })
})
