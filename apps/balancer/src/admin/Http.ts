/**
 * Handlers of the admin API groups, and the routes that mount it (with its OpenAPI document).
 * Every mutation is audited once it has succeeded; a client that hangs up cannot stop one between
 * the change and its audit entry.
 */
import { HttpApiBuilder, HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Endpoint } from "@llmlb/core"
import { SqlClient, SqlError } from "@effect/sql"
import { Effect, Layer, Option, Predicate } from "effect"
import { Audit, created, deleted, updated } from "../observability/Audit.js"
import { LiveState } from "../observability/LiveState.js"
import { StatsStore } from "../observability/StatsStore.js"
import { ClientTokens } from "../protection/ClientTokens.js"
import { ResponseCache } from "../protection/ResponseCache.js"
import { Topology } from "../store/Topology.js"
import { AdminApi, adminApiOf } from "@llmlb/api"
import { VERSION } from "../Version.js"
import { Backups } from "../store/Backups.js"
import { EventStreamLive } from "./Events.js"
import { EventTickets } from "./EventTickets.js"
import { AdminAuthLive, EventsAuthLive } from "./Security.js"

/** Options of the handlers that change something. */
const mutation = { uninterruptible: true } as const

type Recorder = ReturnType<Audit["on"]>

/** A PATCH: the change, then its audit entry with the values that its fields replaced. */
const auditedUpdate = <A extends { readonly id: string }, E, R>(
  record: Recorder,
  find: Effect.Effect<A, E, R>,
  patch: object,
  update: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const before = yield* find
    const after = yield* update
    yield* record("update", after.id, updated(before, patch))
    return after
  })

/** A DELETE: the deletion, then its audit entry with every field of what it removed. */
const auditedDelete = <A extends { readonly id: string }, E, R>(
  record: Recorder,
  find: Effect.Effect<A, E, R>,
  remove: Effect.Effect<void, E, R>
) =>
  Effect.gen(function*() {
    const before = yield* find
    yield* remove
    yield* record("delete", before.id, deleted(before))
  })

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
        auditedUpdate(record, topology.find(path.eid), payload, topology.update(path.eid, payload)).pipe(
          Effect.map(Endpoint.toPublic)
        ), mutation)
      .handle("delete", ({ path }) => auditedDelete(record, topology.find(path.eid), topology.remove(path.eid)), mutation)
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
        auditedUpdate(record, topology.findBlock(path.bid), payload, topology.updateBlock(path.bid, payload)), mutation)
      .handle("delete", ({ path }) =>
        auditedDelete(record, topology.findBlock(path.bid), topology.removeBlock(path.bid)), mutation)
  }))

const TokensLive = HttpApiBuilder.group(AdminApi, "tokens", (handlers) =>
  Effect.gen(function*() {
    const tokens = yield* ClientTokens
    // The secret is a `token` field: Audit records it as "[redacted]".
    const record = (yield* Audit).on("token")
    return handlers
      .handle("list", () => Effect.sync(tokens.list))
      .handle("get", ({ path }) => tokens.find(path.tid))
      .handle("create", ({ payload }) =>
        tokens.create(payload).pipe(Effect.tap((token) => record("create", token.id, created(token)))), mutation)
      .handle("update", ({ path, payload }) =>
        auditedUpdate(record, tokens.find(path.tid), payload, tokens.update(path.tid, payload)), mutation)
      .handle("delete", ({ path }) => auditedDelete(record, tokens.find(path.tid), tokens.remove(path.tid)), mutation)
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
    const backups = yield* Backups
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
      .handle("backup", () =>
        backups.create.pipe(
          Effect.tap((backup) => record("db_backup", null, { path: { new: backup.path }, size_bytes: { new: backup.size_bytes } })),
          Effect.map((backup) => ({ status: "ok" as const, ...backup }))
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

/** Node's and PostgreSQL's codes of a connection that could not be made or was lost (SQLSTATE classes 08, 57P). */
const CONNECTION_CODE = /^(?:E(?:CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOTFOUND)|08\w{3}|57P\w{2}|SQLITE_BUSY)$/
const CONNECTION_MESSAGE = /timeout exceeded when trying to connect|Connection terminated|connection is closed|Client was closed/i

/**
 * A store failure that is the database being away (stopped, restarting, unreachable, busy), not a fault
 * of ours: the repositories die with the SqlError, and the client gets a 503 saying so instead of a 500.
 */
export const isStoreUnavailable = (defect: unknown): defect is SqlError.SqlError => {
  if (!(defect instanceof SqlError.SqlError)) return false
  if (defect.message === "Connection error" || defect.message.startsWith("Failed to acquire connection")) return true
  const cause: unknown = defect.cause
  const code = Predicate.hasProperty(cause, "code") ? String(cause.code) : ""
  const message = cause instanceof Error ? cause.message : ""
  return CONNECTION_CODE.test(code) || CONNECTION_MESSAGE.test(message)
}

/** Retry-After of the 503: a restart of PostgreSQL takes seconds. */
const STORE_RETRY_SECONDS = 5

/** Admin requests whose store call failed because the database is away: 503 in the admin API's error shape. */
const StoreUnavailableLive = HttpLayerRouter.middleware((app) =>
  Effect.catchSomeDefect(app, (defect) =>
    isStoreUnavailable(defect)
      ? Option.some(
        Effect.logWarning("admin: the database is unavailable", defect.cause).pipe(
          Effect.as(HttpServerResponse.unsafeJson(
            {
              _tag: "ServiceUnavailable",
              message: "The database is unavailable, so admin changes cannot be saved now (proxying goes on with the configuration in memory). Try again shortly."
            },
            { status: 503, headers: { "retry-after": String(STORE_RETRY_SECONDS) } }
          ))
        )
      )
      : Option.none())
).layer

/** The admin API and its OpenAPI document. */
export const AdminRoutes = HttpLayerRouter.addHttpApi(adminApiOf(VERSION), { openapiPath: "/admin/api/openapi.json" }).pipe(
  Layer.provide(
    Layer.mergeAll(
      StateLive,
      EndpointsLive,
      IncomingBlocksLive,
      TokensLive,
      RoutingLive,
      StatsLive,
      OperationsLive,
      AuditLive,
      EventsLive,
      EventStreamLive
    ).pipe(Layer.provide([AdminAuthLive, EventsAuthLive])) // each group applies its guard itself (see packages/api AdminApi.ts)
  ),
  Layer.provide(StoreUnavailableLive)
)
