/**
 * better-sqlite3 for tests that read or seed a balancer's database file from outside it. The package
 * ships no types, so the few methods used are typed here.
 */
import { createRequire } from "node:module"

export interface SqliteStatement {
  run(...params: ReadonlyArray<unknown>): unknown
  get(...params: ReadonlyArray<unknown>): unknown
  all(...params: ReadonlyArray<unknown>): Array<unknown>
}

export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement
  transaction(fn: () => void): () => void
  pragma(source: string, options?: { readonly simple?: boolean }): unknown
  close(): void
}

type Open = new(path: string, options?: { readonly readonly?: boolean; readonly fileMustExist?: boolean }) => SqliteDatabase

const Database = createRequire(import.meta.url)("better-sqlite3") as Open

export const openSqlite = (path: string, options: { readonly readonly?: boolean; readonly fileMustExist?: boolean } = {}) =>
  new Database(path, options)
