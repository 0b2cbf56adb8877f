/**
 * A JSON answer on a plain Node response, with its length: the front door (protection/) and the
 * data plane (proxy/) both answer this way.
 */
import type { OutgoingHttpHeaders, ServerResponse } from "node:http"

export const sendJson = (res: ServerResponse, status: number, body: string, headers?: OutgoingHttpHeaders) => {
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}
