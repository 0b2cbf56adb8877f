/**
 * OpenAI-shaped error responses for /v1: `{"error":{"message","type","param","code"}}`.
 */
import type { OutgoingHttpHeaders, ServerResponse } from "node:http"
import { sendJson } from "../http/Json.js"

export { sendJson }

export const sendError = (
  res: ServerResponse,
  status: number,
  type: string,
  code: string | null,
  message: string,
  options: { readonly param?: string; readonly headers?: OutgoingHttpHeaders } = {}
) => {
  if (res.headersSent) return
  sendJson(res, status, JSON.stringify({ error: { message, type, param: options.param ?? null, code } }), options.headers)
}

export const badRequest = (res: ServerResponse, message: string, param?: string) =>
  sendError(res, 400, "invalid_request_error", null, message, param === undefined ? {} : { param })

export const invalidUrl = (res: ServerResponse, method: string, path: string) =>
  sendError(res, 404, "invalid_request_error", null, `Invalid URL (${method} ${path})`)

export const methodNotAllowed = (res: ServerResponse, method: string, path: string, allow: string) =>
  sendError(res, 405, "invalid_request_error", null, `Method ${method} not allowed on ${path}; use ${allow}`, {
    headers: { allow }
  })

export const unauthorized = (res: ServerResponse) =>
  sendError(res, 401, "authentication_error", "invalid_api_key", "Invalid or missing API key: send Authorization: Bearer <token>")

export const tooLarge = (res: ServerResponse, limit: number) =>
  sendError(res, 413, "invalid_request_error", "request_too_large", `Request body exceeds ${limit} bytes`, {
    // The rest of the body is not read: the connection cannot be reused.
    headers: { connection: "close" }
  })

export const noEndpoint = (res: ServerResponse, message: string, retryAfterSeconds?: number) =>
  sendError(res, 503, "api_error", "no_endpoint_available", message, {
    ...(retryAfterSeconds === undefined ? {} : { headers: { "retry-after": String(retryAfterSeconds) } })
  })

export const modelNotFound = (res: ServerResponse, model: string) =>
  sendError(res, 404, "invalid_request_error", "model_not_found", `The model \`${model}\` is not served by any endpoint`, {
    param: "model"
  })

export const upstreamError = (res: ServerResponse, message: string) =>
  sendError(res, 502, "api_error", "upstream_error", message)

export const upstreamTimeout = (res: ServerResponse, message: string) =>
  sendError(res, 504, "api_error", "upstream_timeout", message)

/** How much of a non-JSON upstream error body is quoted in the wrapped message. */
const QUOTED_CHARS = 300

/**
 * An upstream's error body as the client gets it: JSON passes as it is (vLLM's and OpenAI's errors);
 * anything else (an HTML page from a proxy, plain text) is wrapped in OpenAI's shape, quoting its text.
 */
export const upstreamErrorBody = (endpointName: string, status: number, body: Buffer): Buffer | string => {
  const text = body.toString("utf8")
  try {
    const json = JSON.parse(text)
    if (typeof json === "object" && json !== null) return body
  } catch {
    // not JSON: wrapped below
  }
  const quoted = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, QUOTED_CHARS)
  return JSON.stringify({
    error: {
      message: `Endpoint ${endpointName} answered ${status}${quoted === "" ? "" : `: ${quoted}`}`,
      type: status >= 500 ? "api_error" : "invalid_request_error",
      param: null,
      code: "upstream_error"
    }
  })
}
