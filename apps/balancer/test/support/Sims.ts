/**
 * Upstreams for tests: reading a simulator's records (ignoring the balancer's own model-list fetches),
 * and a bare server for what the simulator never does.
 */
import type { UpstreamSim } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** Requests a simulator received on one route (by default chat completions). */
export const generations = (sim: Pick<UpstreamSim, "counters">, route = "/v1/chat/completions") =>
  sim.counters().byRoute[route] ?? 0

/** The generation requests a simulator received, oldest first. */
export const generationRequests = (sim: Pick<UpstreamSim, "received">) =>
  sim.received().filter((r) => r.path !== "/v1/models")

/** A server that streams what it is told, as a stand-in for an upstream that sends no usage at all. */
export const rawUpstream = (events: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Http.Server>((resolve) => {
        const server = Http.createServer((req, res) => {
          req.resume()
          res.writeHead(200, { "content-type": "text/event-stream" })
          for (const event of events) res.write(`data: ${event}\n\n`)
          res.end()
        })
        server.listen(0, "127.0.0.1", () => resolve(server))
      })
    ),
    (server) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`))


/** A port nothing listens on: bound, then closed. */
export const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = Http.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
)
