import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { countKeys, duplicateTopLevelKey, MAX_JSON_DEPTH, scanJson, TOO_DEEP } from "../src/JsonScan.js"

const bytes = (text: string) => new TextEncoder().encode(text)

/** The nesting depth of a parsed value, the way the scan counts it (a scalar is 0 deep). */
const depthOf = (value: unknown): number =>
  typeof value === "object" && value !== null
    ? 1 + Math.max(0, ...Object.values(value).map(depthOf))
    : 0

const membersOf = (value: unknown) =>
  Array.isArray(value) ? value.length : typeof value === "object" && value !== null ? Object.keys(value).length : 0

/** JSON with strings that hold quotes, backslashes, brackets, commas and non-ASCII text. */
const tricky = fc.string({ unit: fc.constantFrom("\"", "\\", "[", "]", "{", "}", ",", "a", "é", "😀", "\n", "\u0000") })
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    tricky,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(tricky, tie("value"), { maxKeys: 4 })
  )
})).value

describe("scanJson", () => {
  it.prop("finds the depth and top-level member count of any JSON text, however it is spaced", [json, fc.boolean()], ([value, spaced]) => {
    const text = JSON.stringify(value, null, spaced ? 2 : undefined)
    const depth = depthOf(value)
    expect(scanJson(bytes(text), depth)).toBe(membersOf(value))
    if (depth > 0) expect(scanJson(bytes(text), depth - 1)).toBe(TOO_DEEP)
  })

  it("refuses thousands of levels of arrays or objects without recursing", () => {
    const levels = 1_000_000
    expect(scanJson(bytes("[".repeat(levels) + "]".repeat(levels)))).toBe(TOO_DEEP)
    expect(scanJson(bytes(`{"a":${"{\"a\":".repeat(levels)}1${"}".repeat(levels + 1)}`))).toBe(TOO_DEEP)
    // Unbalanced: a body cut short is as deep as it got.
    expect(scanJson(bytes("[".repeat(MAX_JSON_DEPTH + 1)))).toBe(TOO_DEEP)
  })

  it("allows exactly MAX_JSON_DEPTH levels", () => {
    const text = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH)
    expect(scanJson(bytes(text))).toBe(1)
    expect(scanJson(bytes(`[${text}]`))).toBe(TOO_DEEP)
  })

  it("does not count brackets inside strings, escaped quotes included", () => {
    const inside = `{"model":"m","x":"${"[{\\\"".repeat(10_000)}\\\\","y":[1,2]}`
    expect(JSON.parse(inside).y).toEqual([1, 2])
    expect(scanJson(bytes(inside), 2)).toBe(3)
  })

  it("counts a key given twice as two members, which the parsed object has one key for", () => {
    const text = `{"model":"a","stream":false,"model":"b"}`
    expect([scanJson(bytes(text)), countKeys(JSON.parse(text))]).toEqual([3, 2])
    expect(scanJson(bytes("{}"))).toBe(0)
    expect(scanJson(bytes(" [ ] "))).toBe(0)
    expect(scanJson(bytes("42"))).toBe(0)
  })
})

describe("duplicateTopLevelKey", () => {
  it("names the first key given twice at the top level, and ignores nested ones", () => {
    expect(duplicateTopLevelKey(bytes(`{"a":{"b":1,"b":2},"c":[{"a":1}],"\\u0063":3}`))).toBe("c")
    expect(duplicateTopLevelKey(bytes(`{"a":{"b":1,"b":2},"c":"a","d":1}`))).toBeUndefined()
    expect(duplicateTopLevelKey(bytes(`{"__proto__":1,"__proto__":2}`))).toBe("__proto__")
  })

  it.prop("agrees with the scan's member count on objects with repeated keys", [fc.array(fc.tuple(fc.constantFrom("a", "b", "c", "\"", "é"), json), { maxLength: 6 })], ([entries]) => {
    const text = `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(",")}}`
    const repeated = new Set(entries.map(([key]) => key)).size < entries.length
    expect(scanJson(bytes(text)) > countKeys(JSON.parse(text))).toBe(repeated)
    expect(duplicateTopLevelKey(bytes(text)) !== undefined).toBe(repeated)
  })
})

describe("countKeys", () => {
  it("counts own keys, a parsed __proto__ key included", () => {
    expect(countKeys(JSON.parse(`{"__proto__":{"x":1},"constructor":1,"a":2}`))).toBe(3)
    expect(countKeys(Object.create({ inherited: 1 }))).toBe(0)
  })
})
