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
/** Rows per DELETE when pruning: a few milliseconds each. */
const PRUNE_BATCH = 5_000

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

    /**
     * Deletes the entries recorded before `before` (an ISO time), then all but the newest `keepRows`
     * (each bound skipped when undefined). In batches: the driver is synchronous, so one huge DELETE
     * would hold up traffic; between batches the event loop runs. Answers how many rows went.
     */
    const prune = (options: { readonly before?: string | undefined; readonly keepRows?: number | undefined }) =>
      Effect.gen(function*() {
        let deleted = 0
        const drain = (batch: Effect.Effect<ReadonlyArray<unknown>, unknown>) =>
          Effect.gen(function*() {
            while (true) {
              const rows = yield* batch
              deleted += rows.length
              if (rows.length < PRUNE_BATCH) return
              yield* Effect.yieldNow()
            }
          })
        if (options.before !== undefined) {
          yield* drain(sql`DELETE FROM audit_log WHERE id IN (
                             SELECT id FROM audit_log WHERE time < ${options.before} ORDER BY id LIMIT ${PRUNE_BATCH})
                           RETURNING id`)
        }
        if (options.keepRows !== undefined) {
          const [newest] = yield* sql<{ readonly id: number }>`SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET ${options.keepRows - 1}`
          if (newest !== undefined) {
            yield* drain(sql`DELETE FROM audit_log WHERE id IN (
                               SELECT id FROM audit_log WHERE id < ${newest.id} ORDER BY id LIMIT ${PRUNE_BATCH})
                             RETURNING id`)
          }
        }
        return deleted
      }).pipe(Effect.orDie)

    return { insert, list, prune } as const
  })
}) {}
