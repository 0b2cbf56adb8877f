/**
 * GET and HEAD /health: liveness plus a summary an operator can read at a glance. No auth.
 */
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { Topology } from "../store/Topology.js"
import { VERSION } from "../Version.js"

export const HealthRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const topology = yield* Topology
    const health = Effect.sync(() => {
      const endpoints = topology.endpoints()
      return {
        status: "ok",
        version: VERSION,
        endpoints: endpoints.length,
        connected: endpoints.filter((e) => e.connected).length,
        routing_mode: topology.routingMode()
      }
    })
    yield* router.add("*", "/health", (request: HttpServerRequest.HttpServerRequest) =>
      request.method === "GET" || request.method === "HEAD"
        ? Effect.flatMap(health, (body) => HttpServerResponse.json(body))
        : Effect.succeed(HttpServerResponse.empty({ status: 405, headers: { allow: "GET, HEAD" } })))
  }))
