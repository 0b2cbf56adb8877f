/**
 * Small global settings (routing mode, incoming node position) as JSON values by key.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"

export class SettingsRepo extends Effect.Service<SettingsRepo>()("SettingsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const get = <A, I>(key: string, schema: Schema.Schema<A, I>): Effect.Effect<Option.Option<A>> =>
      sql<{ value: string }>`SELECT value FROM settings WHERE key = ${key}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.succeedNone
            // A value that no longer decodes (hand-edited database) falls back to the default.
            : Schema.decodeUnknown(Schema.parseJson(schema))(rows[0].value).pipe(Effect.option)
        )
      )

    const set = <A, I>(key: string, schema: Schema.Schema<A, I>, value: A): Effect.Effect<void> =>
      Schema.encode(Schema.parseJson(schema))(value).pipe(
        Effect.orDie,
        Effect.flatMap((json) =>
          sql`INSERT INTO settings (key, value) VALUES (${key}, ${json})
              ON CONFLICT (key) DO UPDATE SET value = excluded.value`
        ),
        Effect.asVoid,
        Effect.orDie
      )

    return { get, set } as const
  })
}) {}
