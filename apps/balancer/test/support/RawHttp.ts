/**
 * Requests that fetch cannot make: any request target (absolute-form, unnormalised paths) and bodies
 * streamed without a length.
 */
import { Effect } from "effect"
import * as Http from "node:http"

export interface RawResponse {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** Sends the request target exactly as given. */
export const rawRequest = (
  url: string,
  options: { readonly method?: string; readonly target: string; readonly headers?: Http.OutgoingHttpHeaders; readonly body?: string }
) =>
  Effect.promise(() =>
    new Promise<RawResponse>((resolve, reject) => {
      const { hostname, port } = new URL(url)
      const request = Http.request({ hostname, port, method: options.method ?? "GET", path: options.target, headers: options.headers }, (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => (body += chunk))
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }))
      })
      request.on("error", reject)
      request.end(options.body)
    })
  )

/**
 * Streams a body in 500-byte chunks without a Content-Length until the server answers or hangs up
 * (or has taken a whole megabyte); how many bytes went out before that.
 */
export const pumpChunked = (url: string, headers: Http.OutgoingHttpHeaders) =>
  Effect.promise(() =>
    new Promise<{ readonly status: number | "closed" | "took it all"; readonly sent: number }>((resolve) => {
      let sent = 0
      let done = false
      const finish = (status: number | "closed" | "took it all") => {
        if (done) return
        done = true
        resolve({ status, sent })
        request.destroy()
      }
      const request = Http.request(url, { method: "POST", headers }, (response) => {
        response.resume()
        finish(response.statusCode!)
      })
      request.on("error", () => finish("closed"))
      request.on("close", () => finish("closed"))
      const pump = () => {
        if (done) return
        if (sent > 1_000_000) return finish("took it all")
        sent += 500
        request.write("x".repeat(500), () => setTimeout(pump, 1))
      }
      pump()
    })
  )
