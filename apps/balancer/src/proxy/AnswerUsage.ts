/**
 * The `usage` of a whole (non-streamed) answer, read without parsing the answer: the top-level `"usage"`
 * member is found in its bytes and only that object is parsed. Parsing a whole answer makes its choices,
 * messages and texts as objects and strings on every proxied request, to read three numbers.
 * In JSON an unescaped `"` always opens or closes a string, so `"usage"` followed by `:` is that key; it is
 * the top-level one when what follows its value closes exactly the answer's object. Of a key given twice the
 * last counts, as with JSON.parse. (An answer that is not valid JSON may still have its usage read here.)
 */
import { OpenAi } from "@llmlb/core"

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN = 0x7b
const CLOSE = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COLON = 0x3a
const KEY = Buffer.from('"usage"')

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

/**
 * Scans `bytes` from `from`, skipping strings, until the nesting it started in closes one level more than
 * it opens: the index just after that closing byte, or -1 when the bytes end first.
 */
const closeOf = (bytes: Buffer, from: number): number => {
  let depth = 0
  for (let i = from; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte === QUOTE) {
      i++
      while (i < bytes.length && bytes[i] !== QUOTE) i += bytes[i] === BACKSLASH ? 2 : 1
    } else if (byte === OPEN || byte === OPEN_ARRAY) {
      depth++
    } else if ((byte === CLOSE || byte === CLOSE_ARRAY) && --depth < 0) {
      return i + 1
    }
  }
  return -1
}

/** Only whitespace from `from` to the end. */
const blankFrom = (bytes: Buffer, from: number): boolean => {
  for (let i = from; i < bytes.length; i++) if (!isSpace(bytes[i]!)) return false
  return true
}

/**
 * The usage counts of a whole answer's bytes, as `OpenAi.usageCounts` of the parsed answer gives them for
 * an answer that has them; undefined when it has none (the caller then parses the answer to estimate).
 * Candidates are found from the end with the native `lastIndexOf` (an answer's usage is usually its last
 * member), so only the usage and what follows it are scanned byte by byte.
 */
export const answerUsage = (bytes: Buffer): OpenAi.UsageCounts | undefined => {
  for (let at = bytes.lastIndexOf(KEY); at > 0; at = bytes.lastIndexOf(KEY, at - 1)) {
    // An unescaped quote opens or closes a string; followed by `usage"` in JSON, it opens this key.
    let backslashes = 0
    while (bytes[at - 1 - backslashes] === BACKSLASH) backslashes++
    if (backslashes % 2 === 1) continue
    let value = at + KEY.length
    while (value < bytes.length && isSpace(bytes[value]!)) value++
    if (bytes[value] !== COLON) continue // "usage" as a value
    value++
    while (value < bytes.length && isSpace(bytes[value]!)) value++
    // The member's value ends at the next "," or closing byte of its own level.
    const isObject = bytes[value] === OPEN
    const end = isObject ? closeOf(bytes, value + 1) : value
    if (end === -1) return undefined
    // A top-level member: what follows it closes exactly the answer's object, and nothing is left after.
    const close = closeOf(bytes, end)
    if (close === -1 || !blankFrom(bytes, close)) continue
    if (!isObject) return undefined // the last usage is null or no object: none
    try {
      return OpenAi.usageCounts({ usage: JSON.parse(bytes.toString("utf8", value, end)) })
    } catch {
      return undefined
    }
  }
  return undefined
}
