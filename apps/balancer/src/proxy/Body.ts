/**
 * A /v1 request body: read up to a limit, checked and parsed once, and rewritten for upstream only
 * where the balancer must (asking a stream for its usage).
 *
 * What is refused (400, the message says why): bytes that are not UTF-8 (decoding would turn them into
 * U+FFFD silently, and the upstream would get other bytes than the balancer read), nesting deeper than
 * MAX_JSON_DEPTH (what handles the parsed value later recurses per level), anything but a JSON object,
 * a top-level key given twice (parsers disagree on which one counts, so the balancer and the upstream
 * could read different models), and values of the fields the balancer acts on that an upstream could
 * read differently (`model`, `stream`, `stream_options`). Everything else goes upstream as the
 * client's own bytes, for the upstream to judge: a `max_tokens` of -5 or 1e999 gets the upstream's
 * own 400, and the balancer's estimate takes the default for it meanwhile. JSON.parse makes
 * `__proto__` an own key like any other: no prototype is set.
 */
import { JsonProblem, NOT_UTF8, parseJson } from "@llmlb/core"
import { isUtf8 } from "node:buffer"
import type { IncomingMessage } from "node:http"

export type BodyResult = Buffer | "too-large" | "aborted"

/**
 * Reads a request body up to a limit. Over the limit it stops reading at once (a 413 follows) rather
 * than taking in the whole body first.
 */
export const readBody = (req: IncomingMessage, limit: number): Promise<BodyResult> => {
  const declared = Number(req.headers["content-length"])
  if (declared > limit) return Promise.resolve("too-large")
  return new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.off("data", onData)
        req.pause()
        resolve("too-large")
      } else {
        chunks.push(chunk)
      }
    }
    req.on("data", onData)
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    req.on("close", () => resolve("aborted"))
  })
}

/** Longer model names are no model's: refused before they reach a log, a span or an error message. */
export const MAX_MODEL_LENGTH = 256
/**
 * The largest completion the balancer reserves for: beyond any context window, and small enough that
 * sums of reservations stay exact in a double.
 */
const MAX_COMPLETION_ESTIMATE = 2 ** 31 - 1

const NOT_AN_OBJECT = new JsonProblem("The request body must be a JSON object")
const NO_MODEL = new JsonProblem("You must provide a model parameter (a non-empty string)", "model")
const LONG_MODEL = new JsonProblem(`model must be at most ${MAX_MODEL_LENGTH} characters`, "model")
const NOT_A_FLAG = new JsonProblem("stream must be a boolean", "stream")
const NOT_OPTIONS = new JsonProblem("stream_options must be an object", "stream_options")

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The checked body of a generation request (chat, completion, embedding), or why it is refused. */
export const parseRequestBody = (raw: Buffer): Record<string, unknown> | JsonProblem => {
  if (!isUtf8(raw)) return NOT_UTF8
  const body = parseJson(raw, raw.toString("utf8"))
  if (body instanceof JsonProblem) return body
  if (!isObject(body)) return NOT_AN_OBJECT
  const model = body.model
  if (typeof model !== "string" || model === "") return NO_MODEL
  if (model.length > MAX_MODEL_LENGTH) return LONG_MODEL
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") return NOT_A_FLAG
  if (body.stream_options !== undefined && body.stream_options !== null && !isObject(body.stream_options)) return NOT_OPTIONS
  return body
}

/**
 * Tokens a request may use: its prompt estimate plus the completion it allows (`max_completion_tokens`,
 * else `max_tokens`, else the default when neither is a count).
 */
export const tokenEstimate = (body: Record<string, unknown>, embedding: boolean, promptEstimate: number, defaultMaxTokens: number) => {
  if (embedding) return Math.max(1, promptEstimate)
  const max = body.max_completion_tokens ?? body.max_tokens
  return promptEstimate + (Number.isInteger(max) && (max as number) >= 0 ? Math.min(max as number, MAX_COMPLETION_ESTIMATE) : defaultMaxTokens)
}

/** Added first in a body that has no `stream_options`. */
const USAGE_MEMBER = Buffer.from(`"stream_options":{"include_usage":true},`)

/**
 * The body of a stream whose client did not ask for usage, asking for it (the balancer counts tokens
 * from it and hides it again); undefined when the client asked, so its own body goes as it is. Without
 * `stream_options` the member is spliced into the client's bytes, which stay as they were otherwise
 * (numbers beyond double precision included); with other options the body is serialised again, which
 * the depth limit keeps safe.
 */
export const withUsageRequested = (raw: Buffer, body: Record<string, unknown>): Buffer | string | undefined => {
  const options = body.stream_options as Record<string, unknown> | null | undefined
  if (options?.include_usage === true) return undefined
  if (options === undefined) {
    // The body is an object: its first byte that is not whitespace is the "{".
    const open = raw.indexOf(0x7b)
    return Buffer.concat([raw.subarray(0, open + 1), USAGE_MEMBER, raw.subarray(open + 1)])
  }
  body.stream_options = { ...options, include_usage: true }
  return JSON.stringify(body)
}
