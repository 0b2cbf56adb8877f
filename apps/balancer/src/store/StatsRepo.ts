/**
 * Cumulative counters per endpoint in SQLite (`endpoint_stats`, one row per endpoint, deleted with it).
 * SQL failures die here: callers have nothing sensible to do with them.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** The cumulative counters of one endpoint, as stored (one row of `endpoint_stats`). */
export interface EndpointCounters {
  readonly endpoint_id: string
  readonly requests: number
  readonly failures: number
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly estimated_tokens: number
  /** Sum over the successful requests. */
  readonly latency_seconds: number
}

export class StatsRepo extends Effect.Service<StatsRepo>()("StatsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const list = sql<EndpointCounters>`
      SELECT endpoint_id, requests, failures, prompt_tokens, completion_tokens, estimated_tokens, latency_seconds
      FROM endpoint_stats`.pipe(Effect.orDie)

    /** Writes each row as it is now; rows of endpoints deleted meanwhile are skipped. */
    const upsert = (rows: ReadonlyArray<EndpointCounters>) => {
      if (rows.length === 0) return Effect.void
      const now = new Date().toISOString()
      return Effect.forEach(rows, (c) =>
        sql`INSERT INTO endpoint_stats
              (endpoint_id, requests, failures, prompt_tokens, completion_tokens, estimated_tokens, latency_seconds, updated_at)
            SELECT ${c.endpoint_id}, ${c.requests}, ${c.failures}, ${c.prompt_tokens}, ${c.completion_tokens},
              ${c.estimated_tokens}, ${c.latency_seconds}, ${now}
            WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = ${c.endpoint_id})
            ON CONFLICT (endpoint_id) DO UPDATE SET
              requests = excluded.requests, failures = excluded.failures, prompt_tokens = excluded.prompt_tokens,
              completion_tokens = excluded.completion_tokens, estimated_tokens = excluded.estimated_tokens,
              latency_seconds = excluded.latency_seconds, updated_at = excluded.updated_at`, { discard: true }).pipe(
        sql.withTransaction,
        Effect.orDie
      )
    }

    const clear = sql`DELETE FROM endpoint_stats`.pipe(Effect.asVoid, Effect.orDie)

    return { list, upsert, clear } as const
  })
}) {}
