/**
 * Online backups of the live database: `VACUUM INTO` writes a consistent, compacted copy through
 * SQLite itself (a plain file copy of a WAL database can miss or tear recent writes) to
 * `<database folder>/backups/<database name>-<UTC time>.db`. Like VACUUM it runs on the balancer's
 * thread (the driver is synchronous), so traffic pauses while it writes.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { mkdirSync, statSync } from "node:fs"
import { basename, dirname, extname, join, resolve } from "node:path"
import { LbConfig } from "../Config.js"

export class Backups extends Effect.Service<Backups>()("Backups", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dbPath } = yield* LbConfig
    const folder = join(dirname(resolve(dbPath)), "backups")
    const name = basename(dbPath, extname(dbPath))

    return {
      /** Writes a new backup file; answers its absolute path and size. */
      create: Effect.gen(function*() {
        // Colons are not allowed in file names on every system; milliseconds keep names apart.
        const stamp = new Date().toISOString().replace(/:/g, "-")
        const path = join(folder, `${name}-${stamp}.db`)
        yield* Effect.sync(() => mkdirSync(folder, { recursive: true }))
        yield* sql`VACUUM INTO ${path}`
        return { path, size_bytes: statSync(path).size }
      }).pipe(Effect.orDie)
    } as const
  })
}) {}
