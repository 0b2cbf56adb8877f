/**
 * A SQLite database file (its folder created), in WAL mode, foreign keys enforced, migrated at start:
 * the store of the producer, and of the balancer when no PostgreSQL is configured.
 */
import { NodeContext } from "@effect/platform-node"
import type { Migrator } from "@effect/sql"
import { SqlClient } from "@effect/sql"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"

export interface SqliteOptions {
  readonly filename: string
  /** The setting that names the file, said when its folder cannot be created ("LB_DB_PATH"). */
  readonly setting: string
  readonly migrations: Migrator.Loader
}

const clientLayer = ({ filename, setting }: SqliteOptions) =>
  Layer.unwrapEffect(
    Effect.try({
      try: () => mkdirSync(dirname(filename), { recursive: true }),
      catch: (cause) => new Error(`${setting}: cannot create the folder of ${filename}: ${String(cause)}`)
    }).pipe(
      // SqliteClient turns WAL on by itself (disableWAL is off).
      Effect.as(SqliteClient.layer({ filename }))
    )
  )

/** better-sqlite3 turns them on by default; said here so that ON DELETE CASCADE never rests on a build flag. */
const ForeignKeysLive = Layer.effectDiscard(
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA foreign_keys = ON`).pipe(Effect.orDie)
)

export const sqliteLayer = (options: SqliteOptions) =>
  Layer.merge(
    SqliteMigrator.layer({ loader: options.migrations }).pipe(Layer.provide(NodeContext.layer)),
    ForeignKeysLive
  ).pipe(Layer.provideMerge(clientLayer(options)))
