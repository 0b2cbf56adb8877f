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

/** The counters of a row (all but its endpoint id). */
export const COUNTERS = ["requests", "failures", "prompt_tokens", "completion_tokens", "estimated_tokens", "latency_seconds"] as const

export class StatsRepo extends Effect.Service<StatsRepo>()("StatsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const list = sql<EndpointCounters>`
      SELECT endpoint_id, requests, failures, prompt_tokens, completion_tokens, estimated_tokens, latency_seconds
      FROM endpoint_stats`.pipe(Effect.orDie)

    /** Writes each row, `set` deciding what an existing one becomes; rows of endpoints deleted meanwhile are skipped. */
    const write = (rows: ReadonlyArray<EndpointCounters>, set: string) => {
      if (rows.length === 0) return Effect.void
      const now = new Date().toISOString()
      return Effect.forEach(rows, (c) =>
        sql`INSERT INTO endpoint_stats
              (endpoint_id, requests, failures, prompt_tokens, completion_tokens, estimated_tokens, latency_seconds, updated_at)
            SELECT ${c.endpoint_id}, ${c.requests}, ${c.failures}, ${c.prompt_tokens}, ${c.completion_tokens},
              ${c.estimated_tokens}, ${c.latency_seconds}, ${now}
            WHERE EXISTS (SELECT 1 FROM endpoints WHERE id = ${c.endpoint_id})
            ON CONFLICT (endpoint_id) DO UPDATE SET ${sql.literal(set)}, updated_at = excluded.updated_at`, { discard: true }).pipe(
        sql.withTransaction,
        Effect.orDie
      )
    }

    /** Writes each row as it is now (one process owns the store). */
    const upsert = (rows: ReadonlyArray<EndpointCounters>) => write(rows, COUNTERS.map((f) => `${f} = excluded.${f}`).join(", "))

    /**
     * Adds each row to what is stored (several replicas: each writes its deltas, the rows hold the
     * cluster's totals).
     */
    const add = (deltas: ReadonlyArray<EndpointCounters>) =>
      write(deltas, COUNTERS.map((f) => `${f} = endpoint_stats.${f} + excluded.${f}`).join(", "))

    const clear = sql`DELETE FROM endpoint_stats`.pipe(Effect.asVoid, Effect.orDie)

    return { list, upsert, add, clear } as const
  })
}) {}
