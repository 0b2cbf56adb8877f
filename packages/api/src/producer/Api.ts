/**
 * The load producer's API under /api, declared once: the producer implements it, the producer page calls it
 * through HttpApiClient, and /api/openapi.json is generated from it.
 *
 * Load settings travel as the engine's own JSON (`RunSettings` of packages/loadgen, snake_case like the
 * CLI report's `settings`). They are declared here as a JSON object and validated by the producer with the
 * engine's schema, so that this package (loaded by the browser) does not import the engine, and one schema
 * decides what a valid load is.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Endpoint } from "@llmlb/core"
import { Schema } from "effect"
import { BadRequest, Conflict, NotFound, Unauthorized } from "../Errors.js"
import { PageQuery } from "../Paging.js"

/** `Authorization: Bearer <LP_TOKEN>`; without LP_TOKEN every call passes. */
export class ProducerAuth extends HttpApiMiddleware.Tag<ProducerAuth>()("ProducerAuth", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export const Route = Schema.Literal("chat", "completions")
export type Route = typeof Route.Type

const Timestamp = Schema.String.annotations({ description: "ISO 8601" })

/** A JSON object of the engine's load settings (RunSettings of packages/loadgen, encoded). */
export const SettingsJson = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  identifier: "RunSettings",
  description: "The engine's settings, snake_case as the CLI report's `settings` (base_url, model, route, stream, " +
    "prompt, input_tokens, max_tokens, concurrency, rate, requests, duration, ...)"
})
export type SettingsJson = typeof SettingsJson.Type

const Model = Schema.String.pipe(
  Schema.minLength(1, { message: () => "model must not be empty" }),
  Schema.maxLength(200, { message: () => "model must be at most 200 characters" })
)

// ---- model configurations ----------------------------------------------------------------------------

export const ModelConfig = Schema.Struct({
  id: Schema.String,
  name: Endpoint.Name,
  base_url: Schema.String,
  api_key_preview: Schema.NullOr(Schema.String).annotations({ description: "the key is write-only" }),
  model: Schema.NullOr(Schema.String).annotations({ description: "null = the first model of GET {base_url}/models" }),
  route: Route,
  created_at: Timestamp,
  updated_at: Timestamp
}).annotations({ identifier: "ModelConfig" })
export type ModelConfig = typeof ModelConfig.Type

export const ModelConfigCreate = Schema.Struct({
  name: Endpoint.Name,
  base_url: Endpoint.BaseUrl,
  api_key: Schema.optionalWith(Schema.NullOr(Endpoint.ApiKey), { default: () => null }),
  model: Schema.optionalWith(Schema.NullOr(Model), { default: () => null }),
  route: Schema.optionalWith(Route, { default: () => "chat" as const })
}).annotations({ identifier: "ModelConfigCreate", ...Endpoint.rejectUnknownFields })
export type ModelConfigCreate = typeof ModelConfigCreate.Type

export const ModelConfigPatch = Schema.Struct({
  name: Schema.optional(Endpoint.Name),
  base_url: Schema.optional(Endpoint.BaseUrl),
  api_key: Schema.optional(Schema.NullOr(Endpoint.ApiKey)),
  model: Schema.optional(Schema.NullOr(Model)),
  route: Schema.optional(Route)
}).annotations({ identifier: "ModelConfigPatch", ...Endpoint.rejectUnknownFields })
export type ModelConfigPatch = typeof ModelConfigPatch.Type

// ---- profiles and presets ----------------------------------------------------------------------------

const ProfileSettings = SettingsJson.annotations({
  identifier: "ProfileSettings",
  description: "The engine's settings without base_url and api_key (those come from the model configuration, " +
    "or LP_DEFAULT_BASE_URL when the profile is bound to none)"
})

export const Profile = Schema.Struct({
  id: Schema.String,
  name: Endpoint.Name,
  model_config_id: Schema.NullOr(Schema.String),
  settings: ProfileSettings,
  created_at: Timestamp,
  updated_at: Timestamp
}).annotations({ identifier: "Profile" })
export type Profile = typeof Profile.Type

export const ProfileCreate = Schema.Struct({
  name: Endpoint.Name,
  model_config_id: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  settings: Schema.optionalWith(ProfileSettings, { default: () => ({}) })
}).annotations({ identifier: "ProfileCreate", ...Endpoint.rejectUnknownFields })
export type ProfileCreate = typeof ProfileCreate.Type

export const ProfilePatch = Schema.Struct({
  name: Schema.optional(Endpoint.Name),
  model_config_id: Schema.optional(Schema.NullOr(Schema.String)),
  settings: Schema.optional(ProfileSettings)
}).annotations({ identifier: "ProfilePatch", ...Endpoint.rejectUnknownFields })
export type ProfilePatch = typeof ProfilePatch.Type

export const Preset = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  description: Schema.String,
  settings: ProfileSettings
}).annotations({ identifier: "Preset" })
export type Preset = typeof Preset.Type

// ---- runs --------------------------------------------------------------------------------------------

export const RunStatus = Schema.Literal("running", "done", "stopped", "failed", "interrupted")
export type RunStatus = typeof RunStatus.Type

export const RunId = Schema.Int.annotations({ description: "increasing; the paging cursor" })

export const RunCreate = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  identifier: "RunCreate",
  description: 'Either the engine\'s settings (RunSettings) or {"profile": "<profile or preset name>"}; ' +
    "optionally `label` (the card's name, kept with the run) and, beside settings, `model_config_id` (its base URL, " +
    "API key, route and model, unless the settings give a model, replace the settings' own)"
})

export const RunCreated = Schema.Struct({ id: RunId, status: RunStatus }).annotations({ identifier: "RunCreated" })

export const RunEventJson = Schema.Struct({
  time: Timestamp,
  level: Schema.Literal("info", "warn", "error"),
  message: Schema.String
}).annotations({ identifier: "RunEvent" })
export type RunEventJson = typeof RunEventJson.Type

/** A few figures of a finished run's report, for the history list. */
export const RunFigures = Schema.Struct({
  completed: Schema.Number,
  failed: Schema.Number,
  request_throughput: Schema.Number,
  output_throughput: Schema.Number,
  median_ttft_ms: Schema.Number,
  p99_ttft_ms: Schema.Number
}).annotations({ identifier: "RunFigures" })
export type RunFigures = typeof RunFigures.Type

const runFields = {
  id: RunId,
  label: Schema.NullOr(Schema.String),
  status: RunStatus,
  reason: Schema.NullOr(Schema.String).annotations({ description: "why it ended, when not simply done" }),
  started_at: Timestamp,
  ended_at: Schema.NullOr(Timestamp),
  settings: SettingsJson.annotations({ description: "the settings it ran with, never the API key" })
}

export const RunSummary = Schema.Struct({
  ...runFields,
  figures: Schema.NullOr(RunFigures)
}).annotations({ identifier: "RunSummary" })
export type RunSummary = typeof RunSummary.Type

export const RunDetail = Schema.Struct({
  ...runFields,
  report: Schema.NullOr(Schema.Unknown).annotations({
    description: "the CLI's --json report once the run has ended, else null"
  }),
  events: Schema.Array(RunEventJson),
  requests_stored: Schema.Number,
  requests_dropped: Schema.Number.annotations({ description: "requests beyond LP_MAX_STORED_REQUESTS" })
}).annotations({ identifier: "RunDetail" })
export type RunDetail = typeof RunDetail.Type

export const RunsQuery = PageQuery(50, "runs")

export const LiveTicket = Schema.Struct({ ticket: Schema.String, expires_in_seconds: Schema.Number }).annotations({
  identifier: "LiveTicket"
})

const id = HttpApiSchema.param("id", Schema.String)
const runId = HttpApiSchema.param("id", Schema.NumberFromString.pipe(Schema.int()))

export class ModelConfigsGroup extends HttpApiGroup.make("model-configs")
  .add(HttpApiEndpoint.get("list", "/model-configs").addSuccess(Schema.Array(ModelConfig)))
  .add(HttpApiEndpoint.get("get")`/model-configs/${id}`.addSuccess(ModelConfig).addError(NotFound))
  .add(
    HttpApiEndpoint.post("create", "/model-configs")
      .setPayload(ModelConfigCreate)
      .addSuccess(ModelConfig, { status: 201 })
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.patch("update")`/model-configs/${id}`
      .setPayload(ModelConfigPatch)
      .addSuccess(ModelConfig)
      .addError(NotFound)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.del("delete")`/model-configs/${id}`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .annotate(OpenApi.Description, "Profiles bound to it are unbound (they then send to LP_DEFAULT_BASE_URL)")
  )
  .middleware(ProducerAuth)
{}

export class ProfilesGroup extends HttpApiGroup.make("profiles")
  .add(HttpApiEndpoint.get("list", "/profiles").addSuccess(Schema.Array(Profile)))
  .add(HttpApiEndpoint.get("get")`/profiles/${id}`.addSuccess(Profile).addError(NotFound))
  .add(
    HttpApiEndpoint.post("create", "/profiles")
      .setPayload(ProfileCreate)
      .addSuccess(Profile, { status: 201 })
      .addError(Conflict)
      .addError(BadRequest)
  )
  .add(
    HttpApiEndpoint.patch("update")`/profiles/${id}`
      .setPayload(ProfilePatch)
      .addSuccess(Profile)
      .addError(NotFound)
      .addError(Conflict)
      .addError(BadRequest)
  )
  .add(HttpApiEndpoint.del("delete")`/profiles/${id}`.addSuccess(HttpApiSchema.NoContent).addError(NotFound))
  .middleware(ProducerAuth)
{}

export const Defaults = Schema.Struct({
  base_url: Schema.String.annotations({ description: "LP_DEFAULT_BASE_URL: where new cards and unbound profiles send" })
}).annotations({ identifier: "Defaults" })

export class PresetsGroup extends HttpApiGroup.make("presets")
  .add(HttpApiEndpoint.get("list", "/presets").addSuccess(Schema.Array(Preset)))
  .add(HttpApiEndpoint.get("defaults", "/defaults").addSuccess(Defaults))
  .add(HttpApiEndpoint.get("get")`/presets/${id}`.addSuccess(Preset).addError(NotFound))
  .middleware(ProducerAuth)
{}

export class RunsGroup extends HttpApiGroup.make("runs")
  .add(
    HttpApiEndpoint.post("start", "/runs")
      .setPayload(RunCreate)
      .addSuccess(RunCreated, { status: 201 })
      .addError(BadRequest)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.get("list", "/runs")
      .setUrlParams(RunsQuery)
      .addSuccess(Schema.Array(RunSummary))
      .annotate(OpenApi.Description, "Run history, newest first")
  )
  .add(HttpApiEndpoint.get("get")`/runs/${runId}`.addSuccess(RunDetail).addError(NotFound))
  .add(
    HttpApiEndpoint.post("stop")`/runs/${runId}/stop`
      .addSuccess(RunCreated)
      .addError(NotFound)
      .addError(Conflict)
      .annotate(OpenApi.Description, "Ends its in-flight requests; the run then turns `stopped` with its report")
  )
  .add(
    HttpApiEndpoint.get("requests")`/runs/${runId}/requests`
      .addSuccess(Schema.Array(Schema.Unknown))
      .addError(NotFound)
      .annotate(OpenApi.Description, "The stored per-request records (the engine's RequestRecord), in send order")
  )
  .add(
    HttpApiEndpoint.get("requestsCsv")`/runs/${runId}/requests.csv`
      .addSuccess(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/csv" })))
      .addError(NotFound)
      .annotate(OpenApi.Description, "One row a request, as the CLI's --csv")
  )
  .add(
    HttpApiEndpoint.del("delete")`/runs/${runId}`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.post("ticket", "/live/ticket")
      .addSuccess(LiveTicket)
      .annotate(OpenApi.Description, "A single-use ticket for the WebSocket /api/live?ticket=... (browsers cannot set its headers)")
  )
  .middleware(ProducerAuth)
{}

export class ProducerApi extends HttpApi.make("producer")
  .add(ModelConfigsGroup)
  .add(ProfilesGroup)
  .add(PresetsGroup)
  .add(RunsGroup)
  .prefix("/api")
  .annotate(OpenApi.Title, "LLM load producer API")
{}

/** Messages of the WebSocket /api/live, one JSON object each. */
export type LiveMessage =
  | { readonly run_id: number; readonly type: "point"; readonly point: Record<string, unknown> }
  | { readonly run_id: number; readonly type: "event"; readonly event: RunEventJson }
  | { readonly run_id: number; readonly type: "status"; readonly status: RunStatus; readonly reason: string | null }
