/**
 * The shared SQLite layer on real files: folder created, WAL, foreign keys enforced, migrations run once
 * per database (a second start finds nothing to do), and a folder that cannot be made names its setting.
 */
import { describe, expect, it } from "@effect/vitest"
import { Migrator, SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { migration, sqliteLayer } from "../src/index.js"

describe("sqliteLayer", () => {
  it.live("creates the folder, runs the migrations once, keeps WAL and enforces foreign keys", () =>
    Effect.gen(function*() {
      const filename = join(mkdtempSync(join(tmpdir(), "llmlb-store-")), "nested", "folder", "test.db")
      let runs = 0
      const migrations = Migrator.fromRecord({
        "0001_parents_and_children": Effect.zipRight(
          Effect.sync(() => void runs++),
          migration([
            `CREATE TABLE parents (id TEXT PRIMARY KEY)`,
            `CREATE TABLE children (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parents (id) ON DELETE CASCADE)`
          ])
        )
      })
      const layer = sqliteLayer({ filename, setting: "TEST_DB_PATH", migrations })
      const open = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.scoped(Layer.build(layer).pipe(
        Effect.flatMap((context) => Effect.provide(effect, context))
      ))

      const first = yield* open(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO parents (id) VALUES ('p')`
        yield* sql`INSERT INTO children (id, parent_id) VALUES ('c', 'p')`
        // A child of no parent is refused; deleting the parent takes its child with it.
        const orphan = yield* Effect.either(sql`INSERT INTO children (id, parent_id) VALUES ('o', 'nobody')`)
        yield* sql`DELETE FROM parents WHERE id = 'p'`
        const children = yield* sql<{ readonly n: number }>`SELECT count(*) AS n FROM children`
        const mode = yield* sql<{ readonly journal_mode: string }>`PRAGMA journal_mode`
        return { orphanRefused: orphan._tag === "Left", children: children[0]?.n, mode: mode[0]?.journal_mode }
      }))
      expect(first).toEqual({ orphanRefused: true, children: 0, mode: "wal" })

      // Started again on the same file: the migration is recorded as done and is not run twice.
      const tables = yield* open(Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ readonly name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('parents', 'children') ORDER BY name`))
      expect(tables.map((t) => t.name)).toEqual(["children", "parents"])
      expect(runs).toBe(1)
    }))

  it.live("a folder that cannot be created is an error naming the setting and the path", () =>
    Effect.gen(function*() {
      const blocker = join(mkdtempSync(join(tmpdir(), "llmlb-store-")), "a-file")
      writeFileSync(blocker, "")
      const filename = join(blocker, "test.db")
      const layer = sqliteLayer({ filename, setting: "TEST_DB_PATH", migrations: Migrator.fromRecord({}) })
      const error = yield* Effect.flip(Effect.scoped(Layer.build(layer)))
      expect(String(error)).toContain(`TEST_DB_PATH: cannot create the folder of ${filename}`)
    }))
})
