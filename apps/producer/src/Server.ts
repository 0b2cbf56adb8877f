/**
 * One node:http server, one port: the WebSocket `/api/live` (the `ws` package on the upgrade event), the
 * API under `/api` (an Effect HttpApi app), `/health`, and the producer page at `/` (static files of the built
 * web app).
 */
import { HttpLayerRouter } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { ApiRoutes } from "./api/Http.js"
import { bearerOf, tokenAccepts } from "./api/Auth.js"
import { LpConfig } from "./Config.js"
import { LiveHub } from "./runs/LiveHub.js"
import { LiveTickets } from "./runs/LiveTickets.js"
import { Runs } from "./runs/Runs.js"
import { WebPage } from "./WebPage.js"

const securityHeaders: ReadonlyArray<readonly [string, string]> = [
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["referrer-policy", "no-referrer"]
]

/** A slow client is skipped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024
const PING_MS = 30_000

const isApi = (url: string) => url === "/api" || url.startsWith("/api/") || url.startsWith("/api?")

const refuseUpgrade = (socket: Duplex, status: number, message: string) => {
  socket.end(
    `HTTP/1.1 ${status} ${Http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n` +
      JSON.stringify({ _tag: status === 401 ? "Unauthorized" : "NotFound", message })
  )
}

export class ProducerServer extends Effect.Service<ProducerServer>()("ProducerServer", {
  scoped: Effect.gen(function*() {
    const config = yield* LpConfig
    const hub = yield* LiveHub
    const tickets = yield* LiveTickets
    const runs = yield* Runs
    const web = yield* WebPage
    const apiApp = yield* HttpLayerRouter.toHttpEffect(ApiRoutes)
    const api = yield* NodeHttpServer.makeHandler(apiApp)

    /** For container healthchecks: up, and how many runs are going. Open like /health of the balancer. */
    const health = (res: Http.ServerResponse) => {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
      res.end(JSON.stringify({ status: "ok", running_runs: runs.running() }))
    }

    const server = Http.createServer((req, res) => {
      for (const [name, value] of securityHeaders) res.setHeader(name, value)
      if (isApi(req.url!)) api(req, res)
      else if (req.url === "/health") health(res)
      else web(req, res)
    })

    const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 })
    server.on("upgrade", (req, socket, head) => {
      const url = new URL(req.url ?? "/", "http://producer")
      if (url.pathname !== "/api/live") return refuseUpgrade(socket, 404, "no WebSocket here: use /api/live")
      const ticket = url.searchParams.get("ticket")
      const allowed = tokenAccepts(config.token, bearerOf(req.headers.authorization)) ||
        (ticket !== null && tickets.redeem(ticket))
      if (!allowed) return refuseUpgrade(socket, 401, "missing or invalid Authorization: Bearer <LP_TOKEN> or ?ticket=")
      wss.handleUpgrade(req, socket, head, (ws) => {
        const send = (json: string) => {
          if (ws.readyState === ws.OPEN && ws.bufferedAmount < MAX_BUFFERED_BYTES) ws.send(json)
        }
        for (const message of runs.snapshot()) send(JSON.stringify(message))
        const unsubscribe = hub.subscribe(send)
        let alive = true
        ws.on("pong", () => {
          alive = true
        })
        const ping = setInterval(() => {
          if (!alive) return ws.terminate()
          alive = false
          ws.ping()
        }, PING_MS)
        ws.on("close", () => {
          clearInterval(ping)
          unsubscribe()
        })
      })
    })

    yield* Effect.async<void, Error>((resume) => {
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(config.port, config.host, () => resume(Effect.void))
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        for (const client of wss.clients) client.terminate()
        wss.close()
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
    )
    const { port } = server.address() as AddressInfo
    yield* Effect.logInfo(`load producer listening on http://${config.host}:${port}`)
    return { port, url: `http://127.0.0.1:${port}` } as const
  })
}) {}
