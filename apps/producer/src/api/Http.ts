/**
 * Handlers of the producer's API groups, and the route that mounts them with /api/openapi.json.
 */
import { HttpApiBuilder, HttpLayerRouter } from "@effect/platform"
import { NotFound, Producer } from "@llmlb/api"
import { Effect, Layer } from "effect"
import { LpConfig } from "../Config.js"
import { LiveTickets } from "../runs/LiveTickets.js"
import { Runs } from "../runs/Runs.js"
import { ModelConfigs } from "../store/ModelConfigs.js"
import { presets } from "../store/Presets.js"
import { Profiles } from "../store/Profiles.js"
import { ProducerAuthLive } from "./Auth.js"

/** A change, once begun, is not cut short by a client that hangs up. */
const mutation = { uninterruptible: true } as const

const ModelConfigsLive = HttpApiBuilder.group(Producer.ProducerApi, "model-configs", (handlers) =>
  Effect.gen(function*() {
    const store = yield* ModelConfigs
    return handlers
      .handle("list", () => store.list)
      .handle("get", ({ path }) => store.get(path.id))
      .handle("create", ({ payload }) => store.create(payload), mutation)
      .handle("update", ({ path, payload }) => store.update(path.id, payload), mutation)
      .handle("delete", ({ path }) => store.remove(path.id), mutation)
  }))

const ProfilesLive = HttpApiBuilder.group(Producer.ProducerApi, "profiles", (handlers) =>
  Effect.gen(function*() {
    const store = yield* Profiles
    return handlers
      .handle("list", () => store.list)
      .handle("get", ({ path }) => store.get(path.id))
      .handle("create", ({ payload }) => store.create(payload), mutation)
      .handle("update", ({ path, payload }) => store.update(path.id, payload), mutation)
      .handle("delete", ({ path }) => store.remove(path.id), mutation)
  }))

const sortedPresets = [...presets].sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }))

const PresetsLive = HttpApiBuilder.group(Producer.ProducerApi, "presets", (handlers) =>
  Effect.gen(function*() {
    const { defaultBaseUrl } = yield* LpConfig
    return handlers
      .handle("list", () => Effect.succeed(sortedPresets))
      .handle("defaults", () => Effect.succeed({ base_url: defaultBaseUrl }))
      .handle("get", ({ path }) => {
        const preset = presets.find((p) => p.id === path.id)
        return preset === undefined ? Effect.fail(new NotFound({ message: `no preset with id ${path.id}` })) : Effect.succeed(preset)
      })
  }))

const RunsLive = HttpApiBuilder.group(Producer.ProducerApi, "runs", (handlers) =>
  Effect.gen(function*() {
    const runs = yield* Runs
    const tickets = yield* LiveTickets
    return handlers
      .handle("start", ({ payload }) => runs.start(payload), mutation)
      .handle("list", ({ urlParams }) => runs.list(urlParams))
      .handle("get", ({ path }) => runs.get(path.id))
      .handle("stop", ({ path }) => runs.stop(path.id), mutation)
      .handle("requests", ({ path }) => runs.requests(path.id))
      .handle("requestsCsv", ({ path }) => Effect.map(runs.requests(path.id), runs.csv))
      .handle("delete", ({ path }) => runs.remove(path.id), mutation)
      .handle("ticket", () => tickets.issue)
  }))

export const ApiRoutes = HttpLayerRouter.addHttpApi(Producer.ProducerApi, { openapiPath: "/api/openapi.json" }).pipe(
  Layer.provide(
    Layer.mergeAll(ModelConfigsLive, ProfilesLive, PresetsLive, RunsLive).pipe(Layer.provide(ProducerAuthLive))
  )
)
