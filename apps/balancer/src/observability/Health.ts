/**
 * GET and HEAD /health: liveness plus a summary an operator can read at a glance. No auth.
 */
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { LiveState } from "./LiveState.js"

export const HealthRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const live = yield* LiveState
    yield* router.add("*", "/health", (request: HttpServerRequest.HttpServerRequest) =>
      request.method === "GET" || request.method === "HEAD"
        ? HttpServerResponse.json(live.health())
        : Effect.succeed(HttpServerResponse.empty({ status: 405, headers: { allow: "GET, HEAD" } })))
  }))
