/**
 * The store: SQLite at LB_DB_PATH (folder created, WAL mode, foreign keys enforced), or PostgreSQL when
 * LB_DATABASE_URL is set (several replicas share it; LB_DB_PATH is then ignored). Both behind the same
 * SqlClient, migrated at start.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { sqliteLayer } from "@llmlb/store"
import { Duration, Effect, Layer, Option } from "effect"
import pg from "pg"
import { LbConfig } from "../Config.js"
import { migrations, pgMigrations } from "./migrations.js"

const SqliteLive = Layer.unwrapEffect(
  Effect.map(LbConfig, ({ dbPath }) => sqliteLayer({ filename: dbPath, setting: "LB_DB_PATH", migrations }))
)

/** BIGINT (counters, audit ids) as numbers, like SQLite's INTEGER: our values stay far below 2^53. */
const pgTypes = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)
} as NonNullable<Parameters<typeof PgClient.layer>[0]["types"]>

/**
 * Any key fits as long as every replica uses the same one: replicas starting together queue on it, the
 * first migrates, the others find nothing left to do. Held by the migration's transaction.
 */
const MIGRATION_LOCK = 7_414_231_001

const PgMigratorLive = Layer.effectDiscard(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // The migrator's own check for its table aborts a transaction when the table is missing: made here first.
    yield* sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.pipe(
      Effect.zipRight(sql`CREATE TABLE IF NOT EXISTS effect_sql_migrations (
        migration_id integer primary key,
        created_at timestamp with time zone not null default now(),
        name text not null
      )`),
      Effect.zipRight(PgMigrator.run({ loader: pgMigrations })),
      sql.withTransaction
    )
  }).pipe(Effect.provide(NodeContext.layer))
)

const pgLive = (url: Parameters<typeof PgClient.layer>[0]["url"]) =>
  PgMigratorLive.pipe(
    Layer.provideMerge(PgClient.layer({
      url,
      types: pgTypes,
      // Admin writes answer 503 within seconds while the database is away instead of hanging.
      connectTimeout: Duration.seconds(3),
      maxConnections: 10,
      applicationName: "llmlb"
    }))
  )

export const DatabaseLive = Layer.unwrapEffect(
  Effect.map(LbConfig, ({ databaseUrl }) =>
    Option.match(databaseUrl, {
      onNone: () => SqliteLive,
      onSome: (url) => pgLive(url) as unknown as typeof SqliteLive
    }))
)
