/**
 * GET and HEAD /health: liveness plus a summary an operator can read at a glance. No auth.
 * 503 with status "draining" once shutdown began.
 */
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { LiveState } from "./LiveState.js"

export const HealthRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const live = yield* LiveState
    yield* router.add("*", "/health", (request: HttpServerRequest.HttpServerRequest) =>
      request.method === "GET" || request.method === "HEAD"
        ? Effect.suspend(() => {
          const health = live.health()
          // Load balancers in front stop sending traffic on a 503.
          return HttpServerResponse.json(health, { status: health.status === "draining" ? 503 : 200 })
        })
        : Effect.succeed(HttpServerResponse.empty({ status: 405, headers: { allow: "GET, HEAD" } })))
  }))
