/**
 * The admin API under /admin/api, declared once: payload and response schemas here drive validation,
 * the handlers' types and the OpenAPI document.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Endpoint } from "@llmlb/core"
import { Schema } from "effect"
import { Conflict, NotFound } from "../Errors.js"
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
  .add(RoutingGroup)
  .middleware(AdminAuth)
  .prefix("/admin/api")
  .annotate(OpenApi.Title, "LLM Load Balancer admin API")
{}
