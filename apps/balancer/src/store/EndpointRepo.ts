/**
 * Endpoints in SQLite. SQL failures die here: callers have nothing sensible to do with them.
 */
import { SqlClient } from "@effect/sql"
import type { Endpoint } from "@llmlb/core"
import { Effect } from "effect"

interface EndpointRow {
  readonly id: string
  readonly name: string
  readonly base_url: string
  readonly api_key: string | null
  readonly enabled: number
  readonly connected: number
  readonly token_quota_percent: number
  readonly priority_order: number
  readonly max_concurrent: number
  readonly timeout: number | null
  readonly verify_tls: number
  readonly metrics_url: string | null
  readonly pos_x: number
  readonly pos_y: number
}

const fromRow = (row: EndpointRow): Endpoint.EndpointRecord => ({
  id: row.id,
  name: row.name,
  base_url: row.base_url,
  api_key: row.api_key,
  enabled: row.enabled === 1,
  connected: row.connected === 1,
  token_quota_percent: row.token_quota_percent,
  priority_order: row.priority_order,
  max_concurrent: row.max_concurrent,
  timeout: row.timeout,
  verify_tls: row.verify_tls === 1,
  metrics_url: row.metrics_url,
  pos_x: row.pos_x,
  pos_y: row.pos_y
})

const toRow = (e: Endpoint.EndpointRecord) => ({
  ...e,
  enabled: e.enabled ? 1 : 0,
  connected: e.connected ? 1 : 0,
  verify_tls: e.verify_tls ? 1 : 0
})

export class EndpointRepo extends Effect.Service<EndpointRepo>()("EndpointRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const list = sql<EndpointRow>`SELECT * FROM endpoints ORDER BY rowid`.pipe(
      Effect.map((rows) => rows.map(fromRow)),
      Effect.orDie
    )

    const insert = (endpoint: Endpoint.EndpointRecord) => {
      const now = new Date().toISOString()
      return sql`INSERT INTO endpoints ${sql.insert({ ...toRow(endpoint), created_at: now, updated_at: now })}`.pipe(
        Effect.asVoid,
        Effect.orDie
      )
    }

    const update = (endpoint: Endpoint.EndpointRecord) => {
      const { id, ...fields } = toRow(endpoint)
      return sql`UPDATE endpoints SET ${sql.update({ ...fields, updated_at: new Date().toISOString() })} WHERE id = ${id}`
        .pipe(Effect.asVoid, Effect.orDie)
    }

    const remove = (id: string) => sql`DELETE FROM endpoints WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)

    return { list, insert, update, remove } as const
  })
}) {}
