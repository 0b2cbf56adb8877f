/**
 * A linear scan of a raw JSON body before it is parsed, for what `JSON.parse` lets through but the
 * code after it cannot take: nesting thousands of levels deep (re-serialising such a value, formatting
 * it in an error or hashing it for the cache recurses once per level and overflows the stack), and
 * duplicate keys at the top level (parsers disagree on which one wins, so the balancer and an upstream
 * could read different models or `stream` flags from one body).
 *
 * The scan reads bytes, not characters: in UTF-8 every byte of a multi-byte character is >= 0x80, so
 * it is never taken for a quote or a bracket. It costs one pass outside strings and a native
 * `indexOf` per string (prompts are mostly strings), allocates nothing and does not recurse. It does
 * not validate: malformed JSON is left for `JSON.parse` to refuse. {@link parseJson} puts the two together.
 */

/** Nesting levels a body may have; an OpenAI request needs a handful, deep JSON schemas some dozens. */
export const MAX_JSON_DEPTH = 128

/** What {@link scanJson} answers when the nesting goes deeper than allowed. */
export const TOO_DEEP = -1

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

const isWhitespace = (byte: number | undefined) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

/** Bytes of a string read one by one before handing the rest to the native `indexOf`. */
const SHORT_STRING = 32

/** The index just past the string whose opening quote is at `start`; the length when it is not closed. */
const skipString = (bytes: Uint8Array, start: number): number => {
  // Short strings (keys, roles, names) end sooner than an indexOf call costs.
  const length = bytes.length
  const shortEnd = Math.min(length, start + SHORT_STRING)
  let i = start + 1
  while (i < shortEnd) {
    const byte = bytes[i]!
    if (byte === QUOTE) return i + 1
    i += byte === BACKSLASH ? 2 : 1
  }
  if (i >= length) return length
  // A long string (a prompt): the next quote that an even number of backslashes precedes ends it.
  let quote = i - 1
  for (;;) {
    quote = bytes.indexOf(QUOTE, quote + 1)
    if (quote === -1) return length
    let backslash = quote - 1
    while (bytes[backslash] === BACKSLASH) backslash--
    if ((quote - 1 - backslash) % 2 === 0) return quote + 1
  }
}

/**
 * {@link TOO_DEEP} when arrays and objects nest more than `maxDepth` levels, else how many members
 * the top-level container has (keys of an object, items of an array; 0 for a scalar). Compared with
 * the keys of the parsed object, a larger count means a key was given twice.
 */
export const scanJson = (bytes: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): number => {
  let depth = 0
  let members = 0
  const length = bytes.length
  let i = 0
  while (i < length) {
    const byte = bytes[i]!
    if (byte === QUOTE) {
      i = skipString(bytes, i)
      continue
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > maxDepth) return TOO_DEEP
      if (depth === 1) {
        // One member unless the container is empty; each comma at this level adds one.
        let next = i + 1
        while (isWhitespace(bytes[next])) next++
        members = bytes[next] === CLOSE_OBJECT || bytes[next] === CLOSE_ARRAY ? 0 : 1
      }
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--
    } else if (byte === COMMA && depth === 1) {
      members++
    }
    i++
  }
  return members
}

/** How many own keys an object has, without building the array `Object.keys` would. */
export const countKeys = (object: object): number => {
  let count = 0
  for (const key in object) if (Object.hasOwn(object, key)) count++
  return count
}

/**
 * The first key that the top-level object of `bytes` gives twice, undefined when none is. Meant for
 * the error path, after {@link scanJson} counted more members than the parsed object has keys.
 */
export const duplicateTopLevelKey = (bytes: Uint8Array): string | undefined => {
  const decoder = new TextDecoder()
  const seen = new Set<string>()
  let depth = 0
  let expectKey = false
  let i = 0
  while (i < bytes.length) {
    const byte = bytes[i]!
    if (byte === QUOTE) {
      const end = skipString(bytes, i)
      if (expectKey && depth === 1) {
        const key = JSON.parse(decoder.decode(bytes.subarray(i, end))) as string
        if (seen.has(key)) return key
        seen.add(key)
      }
      expectKey = false
      i = end
      continue
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++
      expectKey = depth === 1 && byte === OPEN_OBJECT
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--
    } else if (byte === COMMA) {
      expectKey = depth === 1
    }
    i++
  }
  return undefined
}

/** Why a request body is refused: the message of a 400, and the field it is about, if one. */
export class JsonProblem {
  constructor(readonly message: string, readonly param?: string) {}
}

export const NOT_UTF8 = new JsonProblem("The request body is not valid UTF-8")
export const TOO_DEEPLY_NESTED = new JsonProblem(`The JSON body of your request nests deeper than ${MAX_JSON_DEPTH} levels`)
export const NOT_JSON = new JsonProblem("We could not parse the JSON body of your request: it is not valid JSON")

/**
 * A JSON body parsed, given its bytes and their text (decoded by the caller, who checks that they are
 * UTF-8); or a {@link JsonProblem}: nested deeper than {@link MAX_JSON_DEPTH}, not JSON, or an
 * object that gives a top-level key twice.
 */
export const parseJson = (bytes: Uint8Array, text: string): unknown => {
  const members = scanJson(bytes)
  if (members === TOO_DEEP) return TOO_DEEPLY_NESTED
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return NOT_JSON
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value) && members > countKeys(value)) {
    const key = duplicateTopLevelKey(bytes) ?? ""
    return new JsonProblem(`The request body gives the key ${JSON.stringify(key)} more than once`, key)
  }
  return value
}
