/**
 * Handlers of the admin API groups, and the routes that mount it (with its OpenAPI document).
 */
import { HttpApiBuilder, HttpLayerRouter } from "@effect/platform"
import { Endpoint } from "@llmlb/core"
import { Effect, Layer } from "effect"
import { Topology } from "../store/Topology.js"
import { LiveState } from "../observability/LiveState.js"
import { AdminApi } from "./Api.js"
import { AdminAuthLive } from "./Security.js"

const StateLive = HttpApiBuilder.group(AdminApi, "state", (handlers) =>
  Effect.gen(function*() {
    const live = yield* LiveState
    return handlers.handle("get", () => Effect.sync(live.state))
  }))

const EndpointsLive = HttpApiBuilder.group(AdminApi, "endpoints", (handlers) =>
  Effect.gen(function*() {
    const topology = yield* Topology
    return handlers
      .handle("list", () => Effect.sync(() => topology.endpoints().map(Endpoint.toPublic)))
      .handle("get", ({ path }) => topology.find(path.eid).pipe(Effect.map(Endpoint.toPublic)))
      .handle("create", ({ payload }) => topology.create(payload).pipe(Effect.map(Endpoint.toPublic)))
      .handle("update", ({ path, payload }) => topology.update(path.eid, payload).pipe(Effect.map(Endpoint.toPublic)))
      .handle("delete", ({ path }) => topology.remove(path.eid))
  }))

const IncomingBlocksLive = HttpApiBuilder.group(AdminApi, "incomingBlocks", (handlers) =>
  Effect.gen(function*() {
    const topology = yield* Topology
    return handlers
      .handle("list", () => Effect.sync(topology.blocks))
      .handle("get", ({ path }) => topology.findBlock(path.bid))
      .handle("create", ({ payload }) => topology.createBlock(payload))
      .handle("update", ({ path, payload }) => topology.updateBlock(path.bid, payload))
      .handle("delete", ({ path }) => topology.removeBlock(path.bid))
  }))

const RoutingLive = HttpApiBuilder.group(AdminApi, "routing", (handlers) =>
  Effect.gen(function*() {
    const topology = yield* Topology
    return handlers
      .handle("setMode", ({ payload }) => topology.setRoutingMode(payload.mode).pipe(Effect.as(payload)))
      .handle("setIncomingPos", ({ payload }) => topology.setIncomingPos(payload).pipe(Effect.as(payload)))
  }))

export const AdminRoutes = HttpLayerRouter.addHttpApi(AdminApi, { openapiPath: "/admin/api/openapi.json" }).pipe(
  Layer.provide([StateLive, EndpointsLive, IncomingBlocksLive, RoutingLive, AdminAuthLive])
)
