/**
 * The SQLite database at LP_DB_PATH (folder created), in WAL mode, foreign keys enforced, migrated at start.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { LpConfig } from "../Config.js"
import { migrations } from "./migrations.js"

const ClientLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const { dbPath } = yield* LpConfig
    yield* Effect.try({
      try: () => mkdirSync(dirname(dbPath), { recursive: true }),
      catch: (cause) => new Error(`LP_DB_PATH: cannot create the folder of ${dbPath}: ${String(cause)}`)
    })
    // SqliteClient turns WAL on by itself (disableWAL is off).
    return SqliteClient.layer({ filename: dbPath })
  })
)

const MigratorLive = SqliteMigrator.layer({ loader: migrations }).pipe(Layer.provide(NodeContext.layer))

const ForeignKeysLive = Layer.effectDiscard(
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA foreign_keys = ON`).pipe(Effect.orDie)
)

export const DatabaseLive = Layer.merge(MigratorLive, ForeignKeysLive).pipe(Layer.provideMerge(ClientLive))
