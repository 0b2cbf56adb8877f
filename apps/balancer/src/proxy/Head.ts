/**
 * The headers of a /v1 answer. Every answer carries the security headers, X-Request-ID and X-LB-Version;
 * the relay writes them with its own (content type, X-LB-Endpoint, X-LB-Overhead-Ms ...) in one `writeHead`
 * with a flat list, Node's fast path: no header map, no `[name, value]` pair nor lower-casing per header as
 * each `setHeader` costs, on every proxied request. The answers off that path (refusals, errors, the cache)
 * set the common ones with `presetHead` and are then written as any other.
 */
import type { ServerResponse } from "node:http"
import { SECURITY_HEADERS, setHeaders } from "../http/SecurityHeaders.js"
import { VERSION } from "../Version.js"

/**
 * A relayed answer's headers as a flat name, value list, ready for `writeHead`; the caller may push more
 * pairs (a stream's cache-control, a whole answer's content-length, X-LB-Cache).
 */
export const answerHead = (
  requestId: string,
  contentType: string,
  endpointLabel: string,
  overheadMs: string
): Array<string | number> => [
  ...SECURITY_HEADERS,
  "x-request-id",
  requestId,
  "x-lb-version",
  VERSION,
  "content-type",
  contentType,
  "x-lb-endpoint",
  endpointLabel,
  "x-lb-overhead-ms",
  overheadMs
]

/** Sets the common headers on `res` before an answer written otherwise (Respond, a cache hit); returns `res`. */
export const presetHead = (res: ServerResponse, requestId: string): ServerResponse => {
  setHeaders(res, SECURITY_HEADERS)
  res.setHeader("x-request-id", requestId)
  res.setHeader("x-lb-version", VERSION)
  return res
}
