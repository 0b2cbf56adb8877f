/**
 * CORS for every route, answered at the front of the server. LB_CORS_ORIGINS is `*` or a list of
 * origins. Credentials are never allowed: clients authenticate with headers, not cookies.
 * A preflight from a permitted origin gets the headers it asks for allowed (the OpenAI JS SDK sends
 * `x-stainless-*`, `openai-organization`, ... from browsers): any well-formed list of header names is
 * echoed, anything else gets the fixed list.
 */
import { Effect } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { LbConfig } from "../Config.js"

const ALLOW_METHODS = "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
const ALLOW_HEADERS = "Authorization, Content-Type, X-Admin-Token, X-Request-ID, Cache-Control, traceparent, tracestate"
const EXPOSE_HEADERS = [
  "X-LB-Endpoint",
  "X-LB-Version",
  "X-LB-Cache",
  "X-LB-Overhead-Ms",
  "X-Request-ID",
  "Retry-After",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens"
].join(", ")
/** The longest Access-Control-Request-Headers echoed back; a longer one gets ALLOW_HEADERS. */
const MAX_REQUEST_HEADERS_LENGTH = 2048
/** A header name: an RFC 7230 token (tchar+). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * The header names a preflight asks for, normalised to "a, b, c", when the list is well-formed:
 * comma-separated tokens with optional spaces or tabs around them. Undefined when it is missing,
 * empty, too long or holds anything else.
 */
export const requestedHeaders = (value: string | undefined): string | undefined => {
  if (value === undefined || value.length > MAX_REQUEST_HEADERS_LENGTH) return undefined
  const names = value.split(",").map((name) => name.replace(/^[ \t]+|[ \t]+$/g, ""))
  return names.every((name) => TOKEN.test(name)) ? names.join(", ") : undefined
}

/** Browsers may reuse a preflight answer this long (seconds). */
const MAX_AGE = "600"

export class Cors extends Effect.Service<Cors>()("Cors", {
  effect: Effect.gen(function*() {
    const { corsOrigins } = yield* LbConfig
    const any = corsOrigins.includes("*")
    const allowed = new Set(corsOrigins.map((o) => o.replace(/\/+$/, "").toLowerCase()))

    /**
     * Adds the CORS headers a request's Origin earns; answers a preflight itself (true when it did).
     */
    const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
      const origin = req.headers.origin
      const permitted = origin !== undefined && (any || allowed.has(origin.toLowerCase()))
      if (permitted) {
        res.setHeader("access-control-allow-origin", any ? "*" : origin)
        res.setHeader("access-control-expose-headers", EXPOSE_HEADERS)
      }
      if (!any) res.setHeader("vary", "Origin")
      if (req.method !== "OPTIONS" || req.headers["access-control-request-method"] === undefined) return false
      // A preflight: answered here for every path; a refused origin just gets no allow headers.
      if (permitted) {
        const asked = req.headers["access-control-request-headers"]
        res.setHeader("access-control-allow-methods", ALLOW_METHODS)
        res.setHeader("access-control-allow-headers", requestedHeaders(asked) ?? ALLOW_HEADERS)
        res.setHeader("access-control-max-age", MAX_AGE)
        // The answer depends on the asked headers: a shared cache must not hand it to another list.
        res.setHeader("vary", any ? "Access-Control-Request-Headers" : "Origin, Access-Control-Request-Headers")
      }
      res.writeHead(204).end()
      return true
    }

    return { handle } as const
  })
}) {}
