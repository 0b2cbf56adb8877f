/**
 * The admin API under /admin/api, declared once: payload and response schemas here drive validation,
 * the handlers' types and the OpenAPI document.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Endpoint, IncomingBlock } from "@llmlb/core"
import { Schema } from "effect"
import { BadRequest, Conflict, NotFound } from "../Errors.js"
import { AdminAuth } from "./Security.js"

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

export const EndpointState = Schema.Struct({
  ...Endpoint.EndpointPublic.fields,
  inflight: Schema.Number,
  cooldown: Schema.Struct({
    active: Schema.Boolean,
    remaining_seconds: Schema.Number,
    consecutive_failures: Schema.Number
  }),
  models: Schema.NullOr(Schema.Array(Schema.String)).annotations({ description: "null while unknown" }),
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
{}

export const RoutingPayload = Schema.Struct({ mode: Endpoint.RoutingMode }).annotations({
  identifier: "RoutingPayload",
  parseOptions: { onExcessProperty: "error" }
})

export class RoutingGroup extends HttpApiGroup.make("routing")
  .add(HttpApiEndpoint.patch("setMode", "/routing").setPayload(RoutingPayload).addSuccess(RoutingPayload))
  .add(HttpApiEndpoint.patch("setIncomingPos", "/incoming-pos").setPayload(Endpoint.Position).addSuccess(Endpoint.Position))
{}

export class AdminApi extends HttpApi.make("admin")
  .add(StateGroup)
  .add(EndpointsGroup)
  .add(IncomingBlocksGroup)
  .add(RoutingGroup)
  .middleware(AdminAuth)
  .prefix("/admin/api")
  .annotate(OpenApi.Title, "LLM Load Balancer admin API")
{}
