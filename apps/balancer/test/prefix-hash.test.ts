import { describe, expect, it } from "@effect/vitest"
import { Prefix } from "@llmlb/core"
import { xxh64 } from "@node-rs/xxhash"
import { FastCheck as fc } from "effect"
import { chainOf } from "../src/routing/PrefixHash.js"

/** The definition, block by block over string slices: h_i = xxh64(UTF-16 of block i, h_{i-1}), h_{-1} = xxh64(model). */
const reference = (text: string, model: string): Array<number> => {
  const chain: Array<number> = []
  let h = xxh64(model)
  for (let i = 0; i < Prefix.blockCount(text.length); i++) {
    h = xxh64(Buffer.from(text.slice(i * Prefix.BLOCK_CHARS, (i + 1) * Prefix.BLOCK_CHARS), "utf16le"), h)
    chain.push(Number(h >> 11n))
  }
  return chain
}

// Any UTF-16 code units (lone surrogates and astral halves included): blocks are cut by characters of the string.
const textArb = fc.string({ unit: "binary", maxLength: 700 })

describe("prefix hash chain", () => {
  it.prop("is the chained xxhash64 of the prompt's 64-character blocks", [textArb, fc.string({ maxLength: 20 })], ([text, model]) => {
    expect(chainOf(text, model)).toEqual(reference(text, model))
  })

  it.prop(
    "shares exactly the full blocks two prompts have in common",
    [textArb, fc.string({ minLength: 1, maxLength: 200 }), fc.string({ minLength: 1, maxLength: 200 })],
    ([common, a, b]) => {
      fc.pre(a[0] !== b[0])
      const x = chainOf(common + a, "m")
      const y = chainOf(common + b, "m")
      const shared = Math.floor(common.length / Prefix.BLOCK_CHARS)
      expect(x.slice(0, shared)).toEqual(y.slice(0, shared))
      expect(x[shared]).not.toBe(y[shared]) // the first block where they differ (64-bit hashes: no collision expected)
    }
  )

  it("seeds the chain with the model: the same text for another model shares nothing", () => {
    const text = "You are a helpful assistant. ".repeat(20)
    const a = chainOf(text, "model-a")
    const b = chainOf(text, "model-b")
    expect(a).toHaveLength(Prefix.blockCount(text.length))
    expect(a.some((h, i) => h === b[i])).toBe(false)
  })

  it("stops at 8,192 blocks", () => {
    expect(chainOf("x".repeat(Prefix.BLOCK_CHARS * Prefix.MAX_BLOCKS + 100), "m")).toHaveLength(Prefix.MAX_BLOCKS)
  })
})
