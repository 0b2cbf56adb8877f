/**
 * Numbered migrations, bundled with the code (no files to ship beside dist/main.js).
 * Append new ones; never edit one that has shipped.
 */
import { Migrator } from "@effect/sql"
import { migration } from "@llmlb/store"

export const migrations = Migrator.fromRecord({
  "0001_saved_configurations": migration([
    `CREATE TABLE model_configs (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE COLLATE NOCASE,
      base_url TEXT NOT NULL,
      api_key TEXT,
      model TEXT,
      route TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    `CREATE TABLE profiles (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE COLLATE NOCASE,
      model_config_id TEXT REFERENCES model_configs (id) ON DELETE SET NULL,
      settings TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`
  ]),
  "0002_runs": migration([
    // The API key a run used is never stored: settings hold what the report shows.
    `CREATE TABLE runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      label TEXT,
      status TEXT NOT NULL,
      reason TEXT,
      started_at TEXT NOT NULL,
      ended_at TEXT,
      settings TEXT NOT NULL,
      report TEXT,
      events TEXT NOT NULL DEFAULT '[]',
      requests_stored INTEGER NOT NULL DEFAULT 0,
      requests_dropped INTEGER NOT NULL DEFAULT 0
    )`,
    `CREATE TABLE run_requests (
      run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      record TEXT NOT NULL,
      PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID`
  ])
})
