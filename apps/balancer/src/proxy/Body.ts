/**
 * Reads a request body up to a limit. Over the limit it stops reading at once (a 413 follows) rather
 * than taking in the whole body first.
 */
import type { IncomingMessage } from "node:http"

export type BodyResult = Buffer | "too-large" | "aborted"

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
