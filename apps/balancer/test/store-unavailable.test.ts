/**
 * Which store failures the admin API answers with 503 (the database is away) rather than 500 (our fault):
 * the shapes @effect/sql-pg and the pg driver give them. The 503 itself, with a real PostgreSQL stopped, is
 * tested in replicas-process.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlError } from "@effect/sql"
import { isStoreUnavailable } from "../src/admin/Http.js"

const withCode = (code: string, message = "") => Object.assign(new Error(message), { code })
const statement = (cause: unknown) => new SqlError.SqlError({ cause, message: "Failed to execute statement" })

describe("isStoreUnavailable", () => {
  it("is the pool failing to connect or to hand out a connection", () => {
    expect(isStoreUnavailable(new SqlError.SqlError({ cause: withCode("ECONNREFUSED"), message: "Connection error" }))).toBe(true)
    expect(isStoreUnavailable(new SqlError.SqlError({ cause: new Error("timeout exceeded when trying to connect"), message: "Failed to acquire connection" }))).toBe(true)
    expect(isStoreUnavailable(new SqlError.SqlError({ cause: withCode("ECONNREFUSED"), message: "Failed to acquire connection for transaction" }))).toBe(true)
  })

  it("is a statement cut off by a lost connection or a server shutting down", () => {
    expect(isStoreUnavailable(statement(new Error("Connection terminated unexpectedly")))).toBe(true)
    expect(isStoreUnavailable(statement(withCode("57P01", "terminating connection due to administrator command")))).toBe(true)
    expect(isStoreUnavailable(statement(withCode("57P03", "the database system is starting up")))).toBe(true)
    expect(isStoreUnavailable(statement(withCode("08006")))).toBe(true)
    expect(isStoreUnavailable(statement(withCode("ECONNRESET")))).toBe(true)
    expect(isStoreUnavailable(statement(withCode("SQLITE_BUSY", "database is locked")))).toBe(true)
  })

  it("is not a statement the database refused, nor anything but a SqlError", () => {
    expect(isStoreUnavailable(statement(withCode("23505", "duplicate key value violates unique constraint")))).toBe(false)
    expect(isStoreUnavailable(statement(withCode("42601", "syntax error")))).toBe(false)
    expect(isStoreUnavailable(statement(withCode("SQLITE_CONSTRAINT_UNIQUE")))).toBe(false)
    expect(isStoreUnavailable(statement(undefined))).toBe(false)
    expect(isStoreUnavailable(withCode("ECONNREFUSED"))).toBe(false)
    expect(isStoreUnavailable(undefined)).toBe(false)
  })
})
