/**
 * The audit log in SQLite (`audit_log`), newest first by id. SQL failures die here: callers have
 * nothing sensible to do with them.
 */
import { SqlClient } from "@effect/sql"
import { Array as Arr, Effect } from "effect"
import type { AuditEntry } from "@llmlb/api"

export type AuditRecord = Omit<AuditEntry, "id">

interface AuditRow extends Omit<AuditEntry, "changes"> {
  readonly changes: string
}

/** Rows per INSERT, well below SQLite's limit on bound variables. */
const BATCH = 500

export class AuditRepo extends Effect.Service<AuditRepo>()("AuditRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** In the given order, which is the order of their ids. */
    const insert = (records: ReadonlyArray<AuditRecord>) =>
      records.length === 0 ? Effect.void : Effect.forEach(
        Arr.chunksOf(records, BATCH),
        (batch) => sql`INSERT INTO audit_log ${sql.insert(batch.map((r) => ({ ...r, changes: JSON.stringify(r.changes) })))}`,
        { discard: true }
      ).pipe(sql.withTransaction, Effect.orDie)

    /** At most `limit` entries with an id below `before` (all when absent), newest first. */
    const list = (options: { readonly limit: number; readonly before?: number | undefined }) =>
      sql<AuditRow>`SELECT * FROM audit_log WHERE id < ${options.before ?? Number.MAX_SAFE_INTEGER}
                    ORDER BY id DESC LIMIT ${options.limit}`.pipe(
        Effect.map((rows) => rows.map((row): AuditEntry => ({ ...row, changes: JSON.parse(row.changes) }))),
        Effect.orDie
      )

    return { insert, list } as const
  })
}) {}
