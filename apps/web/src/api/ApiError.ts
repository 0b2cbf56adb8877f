/**
 * Every failure of an admin call as one plain, typed value: the HTTP status (0 = the balancer could not
 * be reached), a message for people, and for a validation failure the field it concerns, so that a
 * form can show the message next to that field.
 */
import { HttpClientError } from "@effect/platform"
import { Effect, ParseResult } from "effect"

export class ApiError extends Error {
  override readonly name = "ApiError"
  readonly status: number
  readonly field?: string

  constructor(fields: { readonly status: number; readonly message: string; readonly field?: string | undefined }) {
    super(fields.message)
    this.status = fields.status
    if (fields.field !== undefined) this.field = fields.field
  }

  /** Whether this failure concerns a form field: it says so, or its message names the field. */
  about(field: string): boolean {
    return this.field === field || (this.status === 400 && new RegExp(`\\b${field}\\b`).test(this.message))
  }
}

/** The statuses of the admin API's wire errors (packages/api Errors.ts, and HttpApi's own decode error). */
const STATUS_OF_TAG: Record<string, number> = {
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  BadRequest: 400,
  HttpApiDecodeError: 400
}

interface Issue {
  readonly _tag: string
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/**
 * The issue to show: the first that points at a field, preferring the schemas' own messages
 * ("rpm_limit must be null or between ...") over the union's alternatives ("Expected null, actual 0").
 */
const fromIssues = (status: number, issues: ReadonlyArray<Issue>, fallback: string): ApiError => {
  const located = issues.filter((issue) => issue.path.length > 0)
  const best = located.find((issue) => !issue.message.startsWith("Expected ")) ?? located[0] ?? issues[0]
  if (best === undefined) return new ApiError({ status, message: fallback })
  const field = best.path.length > 0 ? String(best.path[0]) : undefined
  const message = field === undefined || best.message.includes(field) ? best.message : `${field}: ${best.message}`
  return new ApiError({ status, message, field })
}

/** A server message that starts with the field it concerns ("block_id: no incoming block ..."). */
const leadingField = (message: string) => /^([a-z][a-z0-9_]*): /.exec(message)?.[1]

const isTagged = (error: unknown): error is { readonly _tag: string; readonly message?: unknown } =>
  typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string"

/** A body's message: the admin API's `{message}`, OpenAI's `{error: {message}}`, or the text itself. */
const messageOfBody = (text: string): string | undefined => {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } }
    if (typeof body.message === "string") return body.message
    if (typeof body.error?.message === "string") return body.error.message
  } catch {
    // not JSON
  }
  return text.trim() === "" ? undefined : text.trim().slice(0, 300)
}

/** Maps whatever an admin call failed with to an ApiError. */
export const toApiError = (error: unknown): Effect.Effect<ApiError> => {
  if (error instanceof ApiError) return Effect.succeed(error)
  if (ParseResult.isParseError(error)) {
    // The client validates a payload with the same schemas as the server before sending it.
    return Effect.succeed(fromIssues(400, ParseResult.ArrayFormatter.formatErrorSync(error), error.message))
  }
  if (HttpClientError.isHttpClientError(error)) {
    if (error._tag === "RequestError") {
      return Effect.succeed(new ApiError({ status: 0, message: `cannot reach the balancer (${error.description ?? error.reason})` }))
    }
    const { response } = error
    return response.text.pipe(
      Effect.orElseSucceed(() => ""),
      Effect.map((text) => {
        const retryAfter = response.headers["retry-after"]
        const base = messageOfBody(text) ?? `HTTP ${response.status}`
        const message = response.status === 429 && retryAfter !== undefined ? `${base} (retry in ${retryAfter} s)` : base
        return new ApiError({ status: response.status, message })
      })
    )
  }
  if (isTagged(error) && error._tag in STATUS_OF_TAG) {
    const status = STATUS_OF_TAG[error._tag] ?? 500
    const message = typeof error.message === "string" ? error.message : error._tag
    const issues = (error as { issues?: ReadonlyArray<Issue> }).issues
    return Effect.succeed(
      issues === undefined ? new ApiError({ status, message, field: leadingField(message) }) : fromIssues(status, issues, message)
    )
  }
  return Effect.succeed(new ApiError({ status: 0, message: error instanceof Error ? error.message : String(error) }))
}
