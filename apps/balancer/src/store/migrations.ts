/**
 * Numbered migrations, bundled with the code (no files to ship beside dist/main.js).
 * Append new ones; never edit one that has shipped.
 */
import { Migrator } from "@effect/sql"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** A migration of plain statements, run in order (shared with migrations-pg.ts). */
export const migration = (statements: ReadonlyArray<string>) =>
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
  ]),
  "0002_incoming_blocks": migration([
    `CREATE TABLE incoming_blocks (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      routing_mode TEXT,
      enabled INTEGER NOT NULL,
      pos_x REAL NOT NULL,
      pos_y REAL NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    // The built-in block. Only its name and enabled flag are its own: its position and routing mode are
    // the settings incoming_pos and routing_mode, its wires are endpoints.connected.
    `INSERT INTO incoming_blocks (id, name, routing_mode, enabled, pos_x, pos_y, created_at, updated_at)
     VALUES ('default', 'default', NULL, 1, 0, 0, strftime('%Y-%m-%dT%H:%M:%fZ'), strftime('%Y-%m-%dT%H:%M:%fZ'))`,
    // Wires of the other blocks.
    `CREATE TABLE wires (
      block_id TEXT NOT NULL REFERENCES incoming_blocks (id) ON DELETE CASCADE,
      endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
      PRIMARY KEY (block_id, endpoint_id)
    )`,
    `CREATE INDEX wires_endpoint_id ON wires (endpoint_id)`
  ]),
  // Cumulative counters per endpoint (observability/StatsStore.ts); a row goes with its endpoint.
  "0003_endpoint_stats": migration([
    `CREATE TABLE endpoint_stats (
      endpoint_id TEXT PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
      requests INTEGER NOT NULL,
      failures INTEGER NOT NULL,
      prompt_tokens INTEGER NOT NULL,
      completion_tokens INTEGER NOT NULL,
      estimated_tokens INTEGER NOT NULL,
      latency_seconds REAL NOT NULL,
      updated_at TEXT NOT NULL
    )`
  ]),
  // Admin mutations (observability/Audit.ts). `changes` is a JSON object, secrets already redacted.
  "0004_audit_log": migration([
    `CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      time TEXT NOT NULL,
      action TEXT NOT NULL,
      target_type TEXT NOT NULL,
      target_id TEXT,
      changes TEXT NOT NULL,
      client_address TEXT
    )`
  ]),
  // Managed client tokens (protection/ClientTokens.ts): the secret only as its SHA-256 digest. A block
  // that tokens are bound to cannot be deleted (no ON DELETE action: the database refuses it too).
  "0005_client_tokens": migration([
    `CREATE TABLE client_tokens (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE COLLATE NOCASE,
      token_hash TEXT NOT NULL UNIQUE,
      token_preview TEXT NOT NULL,
      enabled INTEGER NOT NULL,
      block_id TEXT REFERENCES incoming_blocks (id),
      rpm_limit INTEGER,
      tpm_limit INTEGER,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      last_used_at TEXT
    )`,
    `CREATE INDEX client_tokens_block_id ON client_tokens (block_id)`
  ]),
  // Routing mode load: where an endpoint's engine metrics are read (null = /metrics on its origin).
  "0006_endpoint_metrics_url": migration([`ALTER TABLE endpoints ADD COLUMN metrics_url TEXT`])
})
