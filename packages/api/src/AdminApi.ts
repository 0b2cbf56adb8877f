/**
 * The admin API under /admin/api, declared once: payload and response schemas here drive validation,
 * the handlers' types, the OpenAPI document and the web app's client.
 *
 * Every group carries `.middleware(AdminAuth)` itself: on the whole HttpApi the guard works the same,
 * but the OpenAPI generator then writes `"security": []` on each operation, which says "no auth".
 * admin.test.ts checks that every operation requires the token, so a group without it fails there.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { ClientToken, Endpoint, IncomingBlock } from "@llmlb/core"
import { Schema } from "effect"
import { AdminAuth, EventsAuth } from "./AdminAuth.js"
import { BadRequest, Conflict, NotFound } from "./Errors.js"
import { PageQuery } from "./Paging.js"

const rates = {
  requests: Schema.Number,
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  tokens_per_second: Schema.Number.annotations({ description: "over the last 10 s" }),
  requests_per_second: Schema.Number.annotations({ description: "over the last 10 s" })
}

export const EndpointStats = Schema.Struct({
  ...rates,
  failures: Schema.Number,
  avg_latency_seconds: Schema.Number
}).annotations({ identifier: "EndpointStats" })

/** Routing mode load: an endpoint's engine figures; a field is null when the engine does not report it. */
export const EngineFigures = Schema.Struct({
  queue: Schema.NullOr(Schema.Number).annotations({ description: "Requests waiting in the engine" }),
  running: Schema.NullOr(Schema.Number).annotations({ description: "Requests the engine is running" }),
  kv_cache_usage: Schema.NullOr(Schema.Number).annotations({ description: "KV cache usage, 0..1" }),
  age_seconds: Schema.NullOr(Schema.Number).annotations({ description: "Seconds since these figures were read" })
}).annotations({ identifier: "EngineFigures" })

export const EndpointState = Schema.Struct({
  ...Endpoint.EndpointPublic.fields,
  inflight: Schema.Number,
  cooldown: Schema.Struct({
    active: Schema.Boolean,
    remaining_seconds: Schema.Number,
    consecutive_failures: Schema.Number
  }),
  models: Schema.NullOr(Schema.Array(Schema.String)).annotations({ description: "null while unknown" }),
  engine: Schema.NullOr(EngineFigures).annotations({
    description: "What the endpoint's engine last reported on its /metrics; null when unknown or stale (older than 3 scrape intervals)"
  }),
  stats: EndpointStats
}).annotations({ identifier: "EndpointState" })

export const GlobalStats = Schema.Struct({ ...rates, total_inflight: Schema.Number }).annotations({
  identifier: "GlobalStats"
})

export const State = Schema.Struct({
  version: Schema.String,
  routing_mode: Endpoint.RoutingMode,
  incoming_pos: Endpoint.Position,
  endpoints: Schema.Array(EndpointState),
  incoming_blocks: Schema.Array(IncomingBlock.IncomingBlock),
  global: GlobalStats
}).annotations({ identifier: "State" })
export type State = typeof State.Type

const eid = HttpApiSchema.param("eid", Schema.String)

export class StateGroup extends HttpApiGroup.make("state")
  .add(HttpApiEndpoint.get("get", "/state").addSuccess(State))
  .middleware(AdminAuth)
{}

export class EndpointsGroup extends HttpApiGroup.make("endpoints")
  .add(HttpApiEndpoint.get("list", "/endpoints").addSuccess(Schema.Array(Endpoint.EndpointPublic)))
  .add(HttpApiEndpoint.get("get")`/endpoints/${eid}`.addSuccess(Endpoint.EndpointPublic).addError(NotFound))
  .add(
    HttpApiEndpoint.post("create", "/endpoints")
      .setPayload(Endpoint.EndpointCreate)
      .addSuccess(Endpoint.EndpointPublic, { status: 201 })
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.patch("update")`/endpoints/${eid}`
      .setPayload(Endpoint.EndpointPatch)
      .addSuccess(Endpoint.EndpointPublic)
      .addError(NotFound)
      .addError(Conflict)
  )
  .add(HttpApiEndpoint.del("delete")`/endpoints/${eid}`.addSuccess(HttpApiSchema.NoContent).addError(NotFound))
  .middleware(AdminAuth)
{}

const bid = HttpApiSchema.param("bid", Schema.String)

export class IncomingBlocksGroup extends HttpApiGroup.make("incomingBlocks")
  .add(HttpApiEndpoint.get("list", "/incoming-blocks").addSuccess(Schema.Array(IncomingBlock.IncomingBlock)))
  .add(HttpApiEndpoint.get("get")`/incoming-blocks/${bid}`.addSuccess(IncomingBlock.IncomingBlock).addError(NotFound))
  .add(
    HttpApiEndpoint.post("create", "/incoming-blocks")
      .setPayload(IncomingBlock.BlockCreate)
      .addSuccess(IncomingBlock.IncomingBlock, { status: 201 })
      .addError(Conflict)
      .addError(BadRequest)
  )
  .add(
    HttpApiEndpoint.patch("update")`/incoming-blocks/${bid}`
      .setPayload(IncomingBlock.BlockPatch)
      .addSuccess(IncomingBlock.IncomingBlock)
      .addError(NotFound)
      .addError(Conflict)
      .addError(BadRequest)
  )
  .add(
    HttpApiEndpoint.del("delete")`/incoming-blocks/${bid}`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .addError(Conflict)
  )
  .middleware(AdminAuth)
{}

const tid = HttpApiSchema.param("tid", Schema.String)

export class TokensGroup extends HttpApiGroup.make("tokens")
  .add(HttpApiEndpoint.get("list", "/tokens").addSuccess(Schema.Array(ClientToken.ClientToken)))
  .add(HttpApiEndpoint.get("get")`/tokens/${tid}`.addSuccess(ClientToken.ClientToken).addError(NotFound))
  .add(
    HttpApiEndpoint.post("create", "/tokens")
      .setPayload(ClientToken.TokenCreate)
      .addSuccess(ClientToken.ClientTokenCreated, { status: 201 })
      .addError(Conflict)
      .addError(BadRequest)
      .annotate(OpenApi.Description, "Answers with the secret as `token`: the only response that ever contains it")
  )
  .add(
    HttpApiEndpoint.patch("update")`/tokens/${tid}`
      .setPayload(ClientToken.TokenPatch)
      .addSuccess(ClientToken.ClientToken)
      .addError(NotFound)
      .addError(Conflict)
      .addError(BadRequest)
      .annotate(OpenApi.Description, "The secret cannot be changed: delete the token and create another")
  )
  .add(HttpApiEndpoint.del("delete")`/tokens/${tid}`.addSuccess(HttpApiSchema.NoContent).addError(NotFound))
  .middleware(AdminAuth)
{}

export const RoutingPayload = Schema.Struct({ mode: Endpoint.RoutingMode }).annotations({
  identifier: "RoutingPayload",
  ...Endpoint.rejectUnknownFields
})

export class RoutingGroup extends HttpApiGroup.make("routing")
  .add(HttpApiEndpoint.patch("setMode", "/routing").setPayload(RoutingPayload).addSuccess(RoutingPayload))
  .add(HttpApiEndpoint.patch("setIncomingPos", "/incoming-pos").setPayload(Endpoint.Position).addSuccess(Endpoint.Position))
  .middleware(AdminAuth)
{}

export class StatsGroup extends HttpApiGroup.make("stats")
  .add(
    HttpApiEndpoint.post("reset", "/reset-stats")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
      .annotate(OpenApi.Description, "Zeroes every counter and rate, stored ones included, and the token-share windows")
  )
  .middleware(AdminAuth)
{}

export const DatabaseBackup = Schema.Struct({
  status: Schema.Literal("ok"),
  path: Schema.String.annotations({ description: "the new file, on the balancer's file system" }),
  size_bytes: Schema.Number
}).annotations({ identifier: "DatabaseBackup" })

export class OperationsGroup extends HttpApiGroup.make("operations")
  .add(
    HttpApiEndpoint.post("clearCache", "/cache/clear")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok"), cleared: Schema.Number }))
      .annotate(OpenApi.Description, "Empties the response cache; answers how many entries it held")
  )
  .add(
    HttpApiEndpoint.post("vacuum", "/db/vacuum")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
      .annotate(OpenApi.Description, "Runs SQLite VACUUM to compact the database file")
  )
  .add(
    HttpApiEndpoint.post("backup", "/db/backup")
      .addSuccess(DatabaseBackup)
      .annotate(
        OpenApi.Description,
        "Writes a consistent copy of the live database (SQLite VACUUM INTO) to a new file in the `backups` folder beside it"
      )
  )
  .middleware(AdminAuth)
{}

export const AuditEntry = Schema.Struct({
  id: Schema.Number.annotations({ description: "increasing; the paging cursor" }),
  time: Schema.String.annotations({ description: "ISO 8601" }),
  action: Schema.String.annotations({ description: '"<target type>.<verb>", e.g. "endpoint.update"' }),
  target_type: Schema.String.annotations({ description: "endpoint, incoming_block, token, settings, stats or operations" }),
  target_id: Schema.NullOr(Schema.String),
  changes: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({ old: Schema.optional(Schema.Unknown), new: Schema.optional(Schema.Unknown) })
  }).annotations({ description: 'changed fields, old and new values; secrets as "[redacted]"' }),
  client_address: Schema.NullOr(Schema.String),
  replica: Schema.NullOr(Schema.String).annotations({
    description: "the replica that made the change (LB_REPLICA_ID); null on entries older than the field"
  })
}).annotations({ identifier: "AuditEntry" })
export type AuditEntry = typeof AuditEntry.Type

export const AuditQuery = PageQuery(100, "entries")

export class AuditGroup extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("list", "/audit")
      .setUrlParams(AuditQuery)
      .addSuccess(Schema.Array(AuditEntry))
      .annotate(OpenApi.Description, "Admin mutations, newest first")
  )
  .middleware(AdminAuth)
{}

export const EventTicket = Schema.Struct({ ticket: Schema.String, expires_in_seconds: Schema.Number }).annotations({
  identifier: "EventTicket"
})

export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.post("ticket", "/events/ticket")
      .addSuccess(EventTicket)
      .annotate(
        OpenApi.Description,
        "A single-use ticket for GET /admin/api/events?ticket=... (EventSource cannot send X-Admin-Token)"
      )
  )
  .middleware(AdminAuth)
{}

/** What the event stream carries: `data: <State as JSON>` events, and `: heartbeat` comments every 15 s. */
export const StateEvents = HttpApiSchema.Text({ contentType: "text/event-stream" }).annotations({
  description: "Server-sent events: `data: <State as JSON>` events and `: heartbeat` comments"
})

export class EventStreamGroup extends HttpApiGroup.make("eventStream")
  .add(
    HttpApiEndpoint.get("stream", "/events")
      .addSuccess(StateEvents)
      .annotate(
        OpenApi.Description,
        "The live state for the editor: the State at once, every second and right after every admin mutation, " +
          "and a heartbeat comment every 15 s, until the client or the server closes the stream. Authenticated by " +
          "X-Admin-Token, or by `?ticket=` from POST /admin/api/events/ticket (EventSource cannot send headers)"
      )
  )
  .middleware(EventsAuth)
{}

export class AdminApi extends HttpApi.make("admin")
  .add(StateGroup)
  .add(EndpointsGroup)
  .add(IncomingBlocksGroup)
  .add(TokensGroup)
  .add(RoutingGroup)
  .add(StatsGroup)
  .add(OperationsGroup)
  .add(AuditGroup)
  .add(EventsGroup)
  .add(EventStreamGroup)
  .prefix("/admin/api")
  .annotate(OpenApi.Title, "LLM Load Balancer admin API")
{}

/** The admin API as the balancer serves it: its OpenAPI document states the balancer's version. */
export const adminApiOf = (version: string) => AdminApi.annotate(OpenApi.Version, version)
