/**
 * The headers sent on every response of every route, as one flat name, value list: the server sets them
 * on the control plane's responses, the data plane writes them with its answers' own headers in one
 * `writeHead` (proxy/Head.ts).
 */
import type { ServerResponse } from "node:http"

export const SECURITY_HEADERS: ReadonlyArray<string> = [
  "x-content-type-options",
  "nosniff",
  "x-frame-options",
  "DENY",
  "referrer-policy",
  "no-referrer"
]

/** Sets the headers of a flat name, value list one by one (for answers written through `setHeader`). */
export const setHeaders = (res: ServerResponse, headers: ReadonlyArray<string>) => {
  for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i]!, headers[i + 1]!)
}
