/**
 * Handlers of the admin API groups, and the routes that mount it (with its OpenAPI document).
 * Every mutation is audited once it has succeeded; a client that hangs up cannot stop one between
 * the change and its audit entry.
 */
import { HttpApiBuilder, HttpLayerRouter } from "@effect/platform"
import { Endpoint } from "@llmlb/core"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { Audit, created, deleted, updated } from "../observability/Audit.js"
import { EventsRoute } from "../observability/Events.js"
import { LiveState } from "../observability/LiveState.js"
import { StatsStore } from "../observability/StatsStore.js"
import { ResponseCache } from "../protection/ResponseCache.js"
import { Topology } from "../store/Topology.js"
import { AdminApi } from "./Api.js"
import { EventTickets } from "./EventTickets.js"
import { AdminAuthLive } from "./Security.js"

/** Options of the handlers that change something. */
const mutation = { uninterruptible: true } as const

const StateLive = HttpApiBuilder.group(AdminApi, "state", (handlers) =>
  Effect.gen(function*() {
    const live = yield* LiveState
    return handlers.handle("get", () => Effect.sync(live.state))
  }))

const EndpointsLive = HttpApiBuilder.group(AdminApi, "endpoints", (handlers) =>
  Effect.gen(function*() {
    const topology = yield* Topology
    const record = (yield* Audit).on("endpoint")
    return handlers
      .handle("list", () => Effect.sync(() => topology.endpoints().map(Endpoint.toPublic)))
      .handle("get", ({ path }) => topology.find(path.eid).pipe(Effect.map(Endpoint.toPublic)))
      .handle("create", ({ payload }) =>
        topology.create(payload).pipe(
          Effect.tap((endpoint) => record("create", endpoint.id, created(endpoint))),
          Effect.map(Endpoint.toPublic)
        ), mutation)
      .handle("update", ({ path, payload }) =>
        Effect.gen(function*() {
          const before = yield* topology.find(path.eid)
          const after = yield* topology.update(path.eid, payload)
          yield* record("update", after.id, updated(before, payload))
          return Endpoint.toPublic(after)
        }), mutation)
      .handle("delete", ({ path }) =>
        Effect.gen(function*() {
          const before = yield* topology.find(path.eid)
          yield* topology.remove(path.eid)
          yield* record("delete", before.id, deleted(before))
        }), mutation)
  }))

const IncomingBlocksLive = HttpApiBuilder.group(AdminApi, "incomingBlocks", (handlers) =>
  Effect.gen(function*() {
    const topology = yield* Topology
    const record = (yield* Audit).on("incoming_block")
    return handlers
      .handle("list", () => Effect.sync(topology.blocks))
      .handle("get", ({ path }) => topology.findBlock(path.bid))
      .handle("create", ({ payload }) =>
        topology.createBlock(payload).pipe(Effect.tap((block) => record("create", block.id, created(block)))), mutation)
      .handle("update", ({ path, payload }) =>
        Effect.gen(function*() {
          const before = yield* topology.findBlock(path.bid)
          const after = yield* topology.updateBlock(path.bid, payload)
          yield* record("update", after.id, updated(before, payload))
          return after
        }), mutation)
      .handle("delete", ({ path }) =>
        Effect.gen(function*() {
          const before = yield* topology.findBlock(path.bid)
          yield* topology.removeBlock(path.bid)
          yield* record("delete", before.id, deleted(before))
        }), mutation)
  }))

const RoutingLive = HttpApiBuilder.group(AdminApi, "routing", (handlers) =>
  Effect.gen(function*() {
    const topology = yield* Topology
    const record = (yield* Audit).on("settings")
    return handlers
      .handle("setMode", ({ payload }) =>
        Effect.gen(function*() {
          const before = { mode: topology.routingMode() }
          yield* topology.setRoutingMode(payload.mode)
          yield* record("update", "routing_mode", updated(before, payload))
          return payload
        }), mutation)
      .handle("setIncomingPos", ({ payload }) =>
        Effect.gen(function*() {
          const before = topology.incomingPos()
          yield* topology.setIncomingPos(payload)
          yield* record("update", "incoming_pos", updated(before, payload))
          return payload
        }), mutation)
  }))

const StatsLive = HttpApiBuilder.group(AdminApi, "stats", (handlers) =>
  Effect.gen(function*() {
    const store = yield* StatsStore
    const record = (yield* Audit).on("stats")
    return handlers.handle("reset", () =>
      store.reset.pipe(
        Effect.zipRight(record("reset", null, {})),
        Effect.as({ status: "ok" as const })
      ), mutation)
  }))

const OperationsLive = HttpApiBuilder.group(AdminApi, "operations", (handlers) =>
  Effect.gen(function*() {
    const cache = yield* ResponseCache
    const sql = yield* SqlClient.SqlClient
    const record = (yield* Audit).on("operations")
    return handlers
      .handle("clearCache", () =>
        Effect.sync(() => {
          const cleared = cache.size()
          cache.clear()
          return cleared
        }).pipe(
          Effect.tap((cleared) => record("cache_clear", null, { cleared: { old: cleared, new: 0 } })),
          Effect.map((cleared) => ({ status: "ok" as const, cleared }))
        ), mutation)
      .handle("vacuum", () =>
        sql`VACUUM`.pipe(
          Effect.orDie,
          Effect.zipRight(record("db_vacuum", null, {})),
          Effect.as({ status: "ok" as const })
        ), mutation)
  }))

const AuditLive = HttpApiBuilder.group(AdminApi, "audit", (handlers) =>
  Effect.gen(function*() {
    const audit = yield* Audit
    return handlers.handle("list", ({ urlParams }) => audit.list(urlParams))
  }))

const EventsLive = HttpApiBuilder.group(AdminApi, "events", (handlers) =>
  Effect.gen(function*() {
    const tickets = yield* EventTickets
    return handlers.handle("ticket", () => tickets.issue)
  }))

const AdminApiRoutes = HttpLayerRouter.addHttpApi(AdminApi, { openapiPath: "/admin/api/openapi.json" }).pipe(
  Layer.provide([
    StateLive,
    EndpointsLive,
    IncomingBlocksLive,
    RoutingLive,
    StatsLive,
    OperationsLive,
    AuditLive,
    EventsLive,
    AdminAuthLive
  ])
)

/** The admin API and its event stream (a plain route: it streams). */
export const AdminRoutes = Layer.merge(AdminApiRoutes, EventsRoute)
