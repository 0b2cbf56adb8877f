/**
 * Numbered migrations, bundled with the code (no files to ship beside dist/main.js).
 * Append new ones; never edit one that has shipped.
 */
import { Migrator } from "@effect/sql"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

const migration = (statements: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of statements) yield* sql.unsafe(statement)
  })

export const migrations = Migrator.fromRecord({
  "0001_endpoints_and_settings": migration([
    `CREATE TABLE endpoints (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE COLLATE NOCASE,
      base_url TEXT NOT NULL,
      api_key TEXT,
      enabled INTEGER NOT NULL,
      connected INTEGER NOT NULL,
      token_quota_percent REAL NOT NULL,
      priority_order INTEGER NOT NULL,
      max_concurrent INTEGER NOT NULL,
      timeout REAL,
      verify_tls INTEGER NOT NULL,
      pos_x REAL NOT NULL,
      pos_y REAL NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    `CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    )`
  ])
})
