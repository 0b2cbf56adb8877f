/**
 * The SQLite database at LB_DB_PATH (folder created), in WAL mode, migrated at start.
 */
import { NodeContext } from "@effect/platform-node"
import { SqliteClient, SqliteMigrator } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { LbConfig } from "../Config.js"
import { migrations } from "./migrations.js"

const ClientLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const { dbPath } = yield* LbConfig
    yield* Effect.try({
      try: () => mkdirSync(dirname(dbPath), { recursive: true }),
      catch: (cause) => new Error(`LB_DB_PATH: cannot create the folder of ${dbPath}: ${String(cause)}`)
    })
    return SqliteClient.layer({ filename: dbPath })
  })
)

const MigratorLive = SqliteMigrator.layer({ loader: migrations }).pipe(Layer.provide(NodeContext.layer))

export const DatabaseLive = MigratorLive.pipe(Layer.provideMerge(ClientLive))
