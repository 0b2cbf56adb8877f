/**
 * The `usage` of a whole (non-streamed) answer, read without parsing the answer: its bytes are scanned for
 * the top-level `"usage"` member and only that object is parsed. Parsing a whole answer makes its choices,
 * messages and texts as objects and strings on every proxied request, to read three numbers.
 * A string of JSON cannot hold an unescaped `"`, so the scan, which skips strings and counts nesting, finds
 * exactly the members JSON.parse would; of a key given twice the last counts, as with JSON.parse.
 */
import { OpenAi } from "@llmlb/core"

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN = 0x7b
const CLOSE = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COLON = 0x3a
const KEY = Buffer.from('usage"')

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

/**
 * The usage counts of a whole answer's bytes, as `OpenAi.usageCounts` of the parsed answer gives them for
 * an answer that has them; undefined when it has none (the caller then parses the answer to estimate).
 */
export const answerUsage = (bytes: Buffer): OpenAi.UsageCounts | undefined => {
  // Where the value of the last top-level "usage" member starts and ends, when it is an object.
  let depth = 0
  let start = -1
  let end = -1
  const n = bytes.length
  for (let i = 0; i < n; i++) {
    const byte = bytes[i]!
    if (byte === QUOTE) {
      const opened = i
      i++
      while (i < n && bytes[i] !== QUOTE) i += bytes[i] === BACKSLASH ? 2 : 1
      if (depth !== 1 || i - opened !== KEY.length || bytes.compare(KEY, 0, KEY.length, opened + 1, i + 1) !== 0) continue
      let j = i + 1
      while (j < n && isSpace(bytes[j]!)) j++
      if (bytes[j] !== COLON) continue // "usage" as a value
      j++
      while (j < n && isSpace(bytes[j]!)) j++
      start = bytes[j] === OPEN ? j : -1
      end = -1
      i = j - 1
    } else if (byte === OPEN || byte === OPEN_ARRAY) {
      depth++
    } else if (byte === CLOSE || byte === CLOSE_ARRAY) {
      depth--
      if (depth === 1 && byte === CLOSE && start !== -1 && end === -1) end = i + 1
    }
  }
  if (start === -1 || end === -1) return undefined
  try {
    return OpenAi.usageCounts({ usage: JSON.parse(bytes.toString("utf8", start, end)) })
  } catch {
    return undefined
  }
}
