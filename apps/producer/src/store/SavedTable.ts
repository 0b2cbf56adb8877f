/**
 * The SQL of a table of named, saved items (model configurations, profiles): listed by name
 * case-insensitively, a duplicate name is a Conflict (the UNIQUE COLLATE NOCASE index decides, so two
 * concurrent creations cannot both pass a check), an unknown id a NotFound. SQL failures die here:
 * callers have nothing sensible to do with them.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Conflict, NotFound } from "@llmlb/api"
import { Effect } from "effect"

export interface SavedRow {
  readonly id: string
  readonly name: string
  readonly created_at: string
  readonly updated_at: string
}

const isUniqueViolation = (error: SqlError.SqlError) =>
  (error.cause as { readonly code?: unknown } | undefined)?.code === "SQLITE_CONSTRAINT_UNIQUE"

export const savedTable = <Row extends SavedRow>(table: "model_configs" | "profiles", noun: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const duplicateName = (name: string) => <A>(effect: Effect.Effect<A, SqlError.SqlError>) =>
      effect.pipe(
        Effect.catchIf(isUniqueViolation, () => Effect.fail(new Conflict({ message: `a ${noun} named "${name}" exists` }))),
        Effect.orDieWith((e) => e)
      )

    const find = (id: string) =>
      sql<Row>`SELECT * FROM ${sql(table)} WHERE id = ${id}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined ? Effect.fail(new NotFound({ message: `no ${noun} with id ${id}` })) : Effect.succeed(rows[0])
        )
      )

    return {
      list: sql<Row>`SELECT * FROM ${sql(table)} ORDER BY name COLLATE NOCASE, id`.pipe(Effect.orDie),
      find,
      findByName: (name: string) =>
        sql<Row>`SELECT * FROM ${sql(table)} WHERE name = ${name} COLLATE NOCASE`.pipe(
          Effect.map((rows) => rows[0]),
          Effect.orDie
        ),
      insert: (row: Row) =>
        sql`INSERT INTO ${sql(table)} ${sql.insert(row as unknown as Record<string, unknown>)}`.pipe(
          duplicateName(row.name),
          Effect.zipRight(Effect.orDie(find(row.id)))
        ),
      /** Writes the given columns and `updated_at`; NotFound when the id is unknown. */
      update: (id: string, changes: { readonly name?: string | undefined; readonly [column: string]: unknown }) =>
        find(id).pipe(
          Effect.zipRight(
            sql`UPDATE ${sql(table)} SET ${
              sql.update({ ...changes, updated_at: new Date().toISOString() })
            } WHERE id = ${id}`.pipe(duplicateName(changes.name ?? ""))
          ),
          Effect.zipRight(find(id))
        ),
      remove: (id: string) =>
        find(id).pipe(Effect.zipRight(sql`DELETE FROM ${sql(table)} WHERE id = ${id}`.pipe(Effect.orDie)), Effect.asVoid)
    } as const
  })

/** A new row's id and timestamps. */
export const newRowFields = () => {
  const now = new Date().toISOString()
  return { id: crypto.randomUUID(), created_at: now, updated_at: now }
}
