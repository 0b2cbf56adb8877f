/**
 * Model configurations: where a run sends (base URL, API key, model, route). The key is write-only: it
 * leaves this service only inside the settings of a run that uses it, never in an API response.
 */
import { Producer } from "@llmlb/api"
import { Endpoint } from "@llmlb/core"
import { Effect } from "effect"
import { newRowFields, savedTable } from "./SavedTable.js"

export interface ModelConfigRow {
  readonly id: string
  readonly name: string
  readonly base_url: string
  readonly api_key: string | null
  readonly model: string | null
  readonly route: Producer.Route
  readonly created_at: string
  readonly updated_at: string
}

export const toPublic = (row: ModelConfigRow): Producer.ModelConfig => {
  const { api_key, ...rest } = row
  return { ...rest, api_key_preview: Endpoint.previewSecret(api_key) }
}

export class ModelConfigs extends Effect.Service<ModelConfigs>()("ModelConfigs", {
  effect: Effect.gen(function*() {
    const table = yield* savedTable<ModelConfigRow>("model_configs", "model configuration")
    return {
      list: Effect.map(table.list, (rows) => rows.map(toPublic)),
      get: (id: string) => Effect.map(table.find(id), toPublic),
      /** With the key: for the run that uses it. */
      record: table.find,
      create: (payload: Producer.ModelConfigCreate) =>
        Effect.map(table.insert({ ...newRowFields(), ...payload }), toPublic),
      update: (id: string, patch: Producer.ModelConfigPatch) => Effect.map(table.update(id, patch), toPublic),
      remove: table.remove
    } as const
  })
}) {}
