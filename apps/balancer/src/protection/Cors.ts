/**
 * CORS for every route, answered at the front of the server. LB_CORS_ORIGINS is `*` or a list of
 * origins. Credentials are never allowed: clients authenticate with headers, not cookies.
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
        res.setHeader("access-control-allow-methods", ALLOW_METHODS)
        res.setHeader("access-control-allow-headers", ALLOW_HEADERS)
        res.setHeader("access-control-max-age", MAX_AGE)
      }
      res.writeHead(204).end()
      return true
    }

    return { handle } as const
  })
}) {}
