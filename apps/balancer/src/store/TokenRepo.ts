/**
 * Managed client tokens in SQLite (`client_tokens`): the secret only as its SHA-256 digest. A token's
 * write and the check that its block exists share one transaction, and so do a block's deletion and
 * the check that no token is bound to it (store/Topology.ts): neither can slip between the other's
 * check and write. SQL failures die here: callers have nothing sensible to do with them.
 */
import { SqlClient } from "@effect/sql"
import type { ClientToken } from "@llmlb/core"
import { Effect } from "effect"

/** The stored form: the public fields and the digest of the secret. */
export interface TokenRecord extends ClientToken.ClientToken {
  readonly token_hash: string
}

interface TokenRow extends Omit<TokenRecord, "enabled"> {
  readonly enabled: number
}

export class TokenRepo extends Effect.Service<TokenRepo>()("TokenRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** In creation order. */
    const list = sql<TokenRow>`
      SELECT id, name, enabled, block_id, rpm_limit, tpm_limit, token_preview, created_at, last_used_at, token_hash
      FROM client_tokens ORDER BY rowid`.pipe(
      Effect.map((rows) => rows.map((row): TokenRecord => ({ ...row, enabled: row.enabled === 1 }))),
      Effect.orDie
    )

    /** Runs `write` unless the token names a block that does not exist; false when it does. */
    const withBlock = (blockId: string | null, write: Effect.Effect<unknown, unknown>) =>
      (blockId === null ? Effect.succeed(true) : sql`SELECT 1 FROM incoming_blocks WHERE id = ${blockId}`.pipe(
        Effect.map((rows) => rows.length > 0)
      )).pipe(
        Effect.tap((exists) => (exists ? write : Effect.void)),
        sql.withTransaction,
        Effect.orDie
      )

    const insert = (token: TokenRecord) =>
      withBlock(
        token.block_id,
        sql`INSERT INTO client_tokens ${sql.insert({ ...token, enabled: token.enabled ? 1 : 0, updated_at: token.created_at })}`
      )

    /** Writes the settings (not the secret, not last_used_at). */
    const update = (token: TokenRecord) =>
      withBlock(
        token.block_id,
        sql`UPDATE client_tokens SET ${
          sql.update({
            name: token.name,
            enabled: token.enabled ? 1 : 0,
            block_id: token.block_id,
            rpm_limit: token.rpm_limit,
            tpm_limit: token.tpm_limit,
            updated_at: new Date().toISOString()
          })
        } WHERE id = ${token.id}`
      )

    const remove = (id: string) => sql`DELETE FROM client_tokens WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)

    /** Names of the tokens bound to a block, in creation order. */
    const boundTo = (blockId: string) =>
      sql<{ name: string }>`SELECT name FROM client_tokens WHERE block_id = ${blockId} ORDER BY rowid`.pipe(
        Effect.map((rows) => rows.map((row) => row.name)),
        Effect.orDie
      )

    /** Records when tokens were last used; rows of tokens deleted meanwhile are no longer there. */
    const touch = (uses: ReadonlyArray<{ readonly id: string; readonly last_used_at: string }>) =>
      uses.length === 0 ? Effect.void : Effect.forEach(
        uses,
        (use) => sql`UPDATE client_tokens SET last_used_at = ${use.last_used_at} WHERE id = ${use.id}`,
        { discard: true }
      ).pipe(sql.withTransaction, Effect.orDie)

    return { list, insert, update, remove, boundTo, touch } as const
  })
}) {}
