/**
 * Incoming blocks and their wires in SQLite. The `default` row holds only its name and enabled flag
 * (see migration 0002). SQL failures die here: callers have nothing sensible to do with them.
 */
import { SqlClient } from "@effect/sql"
import type { Endpoint, IncomingBlock } from "@llmlb/core"
import { Effect } from "effect"

interface BlockRow {
  readonly id: string
  readonly name: string
  readonly routing_mode: Endpoint.RoutingMode | null
  readonly enabled: number
  readonly pos_x: number
  readonly pos_y: number
}

const toRow = ({ endpoint_ids: _, ...block }: IncomingBlock.IncomingBlock) => ({ ...block, enabled: block.enabled ? 1 : 0 })

export class BlockRepo extends Effect.Service<BlockRepo>()("BlockRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** Every block, `default` first, then in creation order; wires in endpoint creation order. */
    const list = Effect.gen(function*() {
      const rows = yield* sql<BlockRow>`SELECT * FROM incoming_blocks ORDER BY id <> 'default', rowid`
      const wires = yield* sql<{ block_id: string; endpoint_id: string }>`
        SELECT wires.block_id, wires.endpoint_id FROM wires
        JOIN endpoints ON endpoints.id = wires.endpoint_id ORDER BY endpoints.rowid`
      return rows.map((row): IncomingBlock.IncomingBlock => ({
        id: row.id,
        name: row.name,
        routing_mode: row.routing_mode,
        enabled: row.enabled === 1,
        pos_x: row.pos_x,
        pos_y: row.pos_y,
        endpoint_ids: wires.filter((w) => w.block_id === row.id).map((w) => w.endpoint_id)
      }))
    }).pipe(Effect.orDie)

    const insertWires = (block: IncomingBlock.IncomingBlock) =>
      block.endpoint_ids.length === 0
        ? Effect.void
        : sql`INSERT INTO wires ${sql.insert(block.endpoint_ids.map((endpoint_id) => ({ block_id: block.id, endpoint_id })))}`

    const insert = (block: IncomingBlock.IncomingBlock) => {
      const now = new Date().toISOString()
      return sql`INSERT INTO incoming_blocks ${sql.insert({ ...toRow(block), created_at: now, updated_at: now })}`.pipe(
        Effect.zipRight(insertWires(block)),
        sql.withTransaction,
        Effect.asVoid,
        Effect.orDie
      )
    }

    /** Rewrites the row and replaces the wires. */
    const update = (block: IncomingBlock.IncomingBlock) => {
      const { id, ...fields } = toRow(block)
      return sql`UPDATE incoming_blocks SET ${sql.update({ ...fields, updated_at: new Date().toISOString() })} WHERE id = ${id}`
        .pipe(
          Effect.zipRight(sql`DELETE FROM wires WHERE block_id = ${id}`),
          Effect.zipRight(insertWires(block)),
          sql.withTransaction,
          Effect.asVoid,
          Effect.orDie
        )
    }

    /** The one column of the `default` row that is its own. */
    const setEnabled = (id: string, enabled: boolean) =>
      sql`UPDATE incoming_blocks SET ${sql.update({ enabled: enabled ? 1 : 0, updated_at: new Date().toISOString() })} WHERE id = ${id}`
        .pipe(Effect.asVoid, Effect.orDie)

    /** Its wires go with it (ON DELETE CASCADE). */
    const remove = (id: string) => sql`DELETE FROM incoming_blocks WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)

    return { list, insert, update, setEnabled, remove } as const
  })
}) {}
