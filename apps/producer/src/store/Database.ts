/**
 * The SQLite database at LP_DB_PATH (folder created), in WAL mode, foreign keys enforced, migrated at start.
 */
import { sqliteLayer } from "@llmlb/store"
import { Effect, Layer } from "effect"
import { LpConfig } from "../Config.js"
import { migrations } from "./migrations.js"

export const DatabaseLive = Layer.unwrapEffect(
  Effect.map(LpConfig, ({ dbPath }) => sqliteLayer({ filename: dbPath, setting: "LP_DB_PATH", migrations }))
)
