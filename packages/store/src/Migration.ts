/**
 * A migration of plain SQL statements, run in order: how the balancer and the producer write theirs
 * (bundled with the code, no files to ship beside dist/main.js).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export const migration = (statements: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of statements) yield* sql.unsafe(statement)
  })
