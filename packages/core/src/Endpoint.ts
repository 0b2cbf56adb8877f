/**
 * An endpoint is one OpenAI-compatible backend (a vLLM server, say) the balancer sends traffic to.
 * These schemas are the single definition of its fields, bounds and defaults, shared by the admin API,
 * the store and the UI.
 */
import { ParseResult, Schema } from "effect"

export const RoutingMode = Schema.Literal("percentage", "priority", "load")
export type RoutingMode = typeof RoutingMode.Type

export const EndpointId = Schema.UUID.annotations({ description: "Endpoint id (UUID)" })

const isPrintable = (s: string) => !/[\u0000-\u001f\u007f]/.test(s)

export const Name = Schema.String.pipe(
  Schema.minLength(1, { message: () => "name must not be empty" }),
  Schema.maxLength(100, { message: () => "name must be at most 100 characters" }),
  Schema.filter((s) => isPrintable(s) || "name must contain printable characters only"),
  Schema.filter((s) => s.trim().length > 0 || "name must not be blank")
).annotations({ description: "Display name, 1-100 printable characters" })

/**
 * Parses and normalises an OpenAI base URL: http(s) only, no credentials, no query or fragment,
 * no trailing slash, and `/v1` when it has no path (the balancer appends `/chat/completions` etc.).
 */
export const normalizeBaseUrl = (input: string): string | { readonly error: string } => {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    return { error: "base_url must be an absolute http(s) URL" }
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { error: "base_url must use http or https" }
  }
  if (url.username !== "" || url.password !== "") {
    return { error: "base_url must not contain credentials (use api_key)" }
  }
  if (url.search !== "" || url.hash !== "") {
    return { error: "base_url must not contain a query or fragment" }
  }
  const path = url.pathname.replace(/\/+$/, "")
  return `${url.protocol}//${url.host}${path === "" ? "/v1" : path}`
}

export const BaseUrl = Schema.transformOrFail(
  Schema.String.pipe(Schema.maxLength(2048, { message: () => "base_url must be at most 2048 characters" })),
  Schema.String,
  {
    strict: true,
    decode: (input, _, ast) => {
      const result = normalizeBaseUrl(input)
      return typeof result === "string"
        ? ParseResult.succeed(result)
        : ParseResult.fail(new ParseResult.Type(ast, input, result.error))
    },
    encode: ParseResult.succeed
  }
).annotations({ description: "OpenAI base URL of the backend, e.g. http://vllm:8000/v1" })

/** Checks a Prometheus metrics URL: absolute http(s), no credentials, no fragment. */
export const checkMetricsUrl = (input: string): string | { readonly error: string } => {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    return { error: "metrics_url must be an absolute http(s) URL" }
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { error: "metrics_url must use http or https" }
  if (url.username !== "" || url.password !== "") return { error: "metrics_url must not contain credentials" }
  if (url.hash !== "") return { error: "metrics_url must not contain a fragment" }
  return url.href
}

export const MetricsUrl = Schema.NullOr(
  Schema.transformOrFail(
    Schema.String.pipe(Schema.maxLength(2048, { message: () => "metrics_url must be at most 2048 characters" })),
    Schema.String,
    {
      strict: true,
      decode: (input, _, ast) => {
        const result = checkMetricsUrl(input)
        return typeof result === "string"
          ? ParseResult.succeed(result)
          : ParseResult.fail(new ParseResult.Type(ast, input, result.error))
      },
      encode: ParseResult.succeed
    }
  )
).annotations({
  description: "Routing mode load: the engine's Prometheus metrics URL; null = /metrics on the base_url's origin"
})

export const ApiKey = Schema.String.pipe(
  Schema.maxLength(4096, { message: () => "api_key must be at most 4096 characters" }),
  Schema.filter((s) => isPrintable(s) || "api_key must contain printable characters only")
).annotations({ description: "Upstream API key, sent as Authorization: Bearer (write-only)" })

export const TokenQuotaPercent = Schema.Number.pipe(
  Schema.finite({ message: () => "token_quota_percent must be a finite number" }),
  Schema.between(0, 100, { message: () => "token_quota_percent must be between 0 and 100" })
).annotations({ description: "Percentage mode: target share of tokens" })

const nonNegativeInt = (field: string) =>
  Schema.Number.pipe(
    Schema.int({ message: () => `${field} must be an integer` }),
    Schema.between(0, 1_000_000_000, { message: () => `${field} must be between 0 and 1000000000` })
  )

export const PriorityOrder = nonNegativeInt("priority_order").annotations({
  description: "Priority mode: lower is tried first"
})
export const MaxConcurrent = nonNegativeInt("max_concurrent").annotations({
  description: "Maximum parallel requests, 0 = unlimited"
})

export const Timeout = Schema.NullOr(
  Schema.Number.pipe(
    Schema.finite({ message: () => "timeout must be a finite number" }),
    Schema.greaterThan(0, { message: () => "timeout must be greater than 0" }),
    Schema.lessThanOrEqualTo(3600, { message: () => "timeout must be at most 3600 seconds" })
  )
).annotations({ description: "Seconds; null = LB_DEFAULT_TIMEOUT_SECONDS" })

const position = (field: string) => Schema.Number.pipe(Schema.finite({ message: () => `${field} must be a finite number` }))
export const PosX = position("pos_x")
export const PosY = position("pos_y")

/** The configurable fields, with their types (no defaults). */
const configFields = {
  name: Name,
  base_url: BaseUrl,
  enabled: Schema.Boolean,
  connected: Schema.Boolean,
  token_quota_percent: TokenQuotaPercent,
  priority_order: PriorityOrder,
  max_concurrent: MaxConcurrent,
  timeout: Timeout,
  verify_tls: Schema.Boolean,
  metrics_url: MetricsUrl,
  pos_x: PosX,
  pos_y: PosY
}

/** Unknown fields are a 400, not silently dropped: a typo in a field name must not pass as success. */
export const rejectUnknownFields = { parseOptions: { onExcessProperty: "error" } } as const

export const EndpointCreate = Schema.Struct({
  name: Name,
  base_url: BaseUrl,
  api_key: Schema.optionalWith(Schema.NullOr(ApiKey), { default: () => null }),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  connected: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  token_quota_percent: Schema.optionalWith(TokenQuotaPercent, { default: () => 0 }),
  priority_order: Schema.optionalWith(PriorityOrder, { default: () => 0 }),
  max_concurrent: Schema.optionalWith(MaxConcurrent, { default: () => 0 }),
  timeout: Schema.optionalWith(Timeout, { default: () => null }),
  verify_tls: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  metrics_url: Schema.optionalWith(MetricsUrl, { default: () => null }),
  pos_x: Schema.optionalWith(PosX, { default: () => 0 }),
  pos_y: Schema.optionalWith(PosY, { default: () => 0 })
}).annotations({ identifier: "EndpointCreate", ...rejectUnknownFields })
export type EndpointCreate = typeof EndpointCreate.Type

export const EndpointPatch = Schema.Struct({
  name: Schema.optional(Name),
  base_url: Schema.optional(BaseUrl),
  api_key: Schema.optional(Schema.NullOr(ApiKey)),
  enabled: Schema.optional(Schema.Boolean),
  connected: Schema.optional(Schema.Boolean),
  token_quota_percent: Schema.optional(TokenQuotaPercent),
  priority_order: Schema.optional(PriorityOrder),
  max_concurrent: Schema.optional(MaxConcurrent),
  timeout: Schema.optional(Timeout),
  verify_tls: Schema.optional(Schema.Boolean),
  metrics_url: Schema.optional(MetricsUrl),
  pos_x: Schema.optional(PosX),
  pos_y: Schema.optional(PosY)
}).annotations({ identifier: "EndpointPatch", ...rejectUnknownFields })
export type EndpointPatch = typeof EndpointPatch.Type

/** The stored form, secret included. Never sent to a client. */
export const EndpointRecord = Schema.Struct({
  id: EndpointId,
  ...configFields,
  api_key: Schema.NullOr(Schema.String)
})
export type EndpointRecord = typeof EndpointRecord.Type

/** What responses show: every field, the key only as a preview. */
export const EndpointPublic = Schema.Struct({
  id: EndpointId,
  ...configFields,
  api_key_preview: Schema.NullOr(Schema.String)
}).annotations({ identifier: "Endpoint" })
export type EndpointPublic = typeof EndpointPublic.Type

/**
 * A preview that identifies a key without revealing it: `sk-...a1b2`. Keys too short to spare 7
 * characters show only that one is set.
 */
export const previewSecret = (secret: string | null): string | null => {
  if (secret === null || secret === "") return null
  return secret.length >= 16 ? `${secret.slice(0, 3)}...${secret.slice(-4)}` : "***"
}

export const toPublic = (record: EndpointRecord): EndpointPublic => {
  const { api_key, ...rest } = record
  return { ...rest, api_key_preview: previewSecret(api_key) }
}

export const applyPatch = (record: EndpointRecord, patch: EndpointPatch): EndpointRecord => {
  const next: Record<string, unknown> = { ...record }
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) next[key] = value
  }
  return next as EndpointRecord
}

/** A node's position on the editor canvas. */
export const Position = Schema.Struct({ pos_x: PosX, pos_y: PosY }).annotations({ identifier: "Position", ...rejectUnknownFields })
export type Position = typeof Position.Type
