/**
 * Profiles: the user's saved load settings, each optionally bound to a model configuration. Their settings
 * are the engine's (validated by the engine's own schema) without `base_url` and `api_key`: those belong to
 * the model configuration, so that a secret is never copied into a profile.
 */
import { BadRequest, NotFound, Producer } from "@llmlb/api"
import { decodeSettings } from "@llmlb/loadgen"
import { Effect, Either } from "effect"
import { ModelConfigs } from "./ModelConfigs.js"
import { newRowFields, savedTable } from "./SavedTable.js"

interface ProfileRow {
  readonly id: string
  readonly name: string
  readonly model_config_id: string | null
  readonly settings: string
  readonly created_at: string
  readonly updated_at: string
}

const toProfile = (row: ProfileRow): Producer.Profile => ({ ...row, settings: JSON.parse(row.settings) })

/** A placeholder to validate settings that have no base URL of their own. */
const PLACEHOLDER_BASE_URL = "http://127.0.0.1/v1"

/** Checks load settings of a profile or preset with the engine's schema; the message names the field. */
export const checkProfileSettings = (settings: Producer.SettingsJson): Either.Either<Producer.SettingsJson, string> => {
  for (const field of ["base_url", "api_key"] as const) {
    if (field in settings) return Either.left(`settings.${field}: set it on a model configuration, not in a profile`)
  }
  return decodeSettings({ ...settings, base_url: PLACEHOLDER_BASE_URL }).pipe(
    Either.mapBoth({ onLeft: (message) => `settings.${message}`, onRight: () => settings })
  )
}

export class Profiles extends Effect.Service<Profiles>()("Profiles", {
  effect: Effect.gen(function*() {
    const table = yield* savedTable<ProfileRow>("profiles", "profile")
    const modelConfigs = yield* ModelConfigs

    const validSettings = (settings: Producer.SettingsJson | undefined) =>
      settings === undefined ? Effect.succeed(undefined) : Either.match(checkProfileSettings(settings), {
        onLeft: (message) => Effect.fail(new BadRequest({ message })),
        onRight: (s) => Effect.succeed(JSON.stringify(s))
      })

    const existingModelConfig = (id: string | null | undefined) =>
      id === null || id === undefined ? Effect.void : modelConfigs.get(id).pipe(
        Effect.catchTag("NotFound", () => Effect.fail(new BadRequest({ message: `model_config_id: no model configuration with id ${id}` }))),
        Effect.asVoid
      )

    return {
      list: Effect.map(table.list, (rows) => rows.map(toProfile)),
      get: (id: string) => Effect.map(table.find(id), toProfile),
      /** By name, case-insensitively. */
      byName: (name: string) =>
        Effect.flatMap(table.findByName(name), (row) =>
          row === undefined ? Effect.fail(new NotFound({ message: `no profile or preset named "${name}"` })) : Effect.succeed(toProfile(row))),
      create: (payload: Producer.ProfileCreate) =>
        Effect.gen(function*() {
          const settings = yield* validSettings(payload.settings)
          yield* existingModelConfig(payload.model_config_id)
          const row = { ...newRowFields(), name: payload.name, model_config_id: payload.model_config_id, settings: settings ?? "{}" }
          return toProfile(yield* table.insert(row))
        }),
      update: (id: string, patch: Producer.ProfilePatch) =>
        Effect.gen(function*() {
          const settings = yield* validSettings(patch.settings)
          yield* existingModelConfig(patch.model_config_id)
          const { settings: _, ...rest } = patch
          return toProfile(yield* table.update(id, settings === undefined ? rest : { ...rest, settings }))
        }),
      remove: table.remove
    } as const
  })
}) {}
