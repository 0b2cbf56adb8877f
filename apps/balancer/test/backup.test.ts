/**
 * POST /admin/api/db/backup: an online copy of the live database (VACUUM INTO) beside it, readable
 * on its own, audited.
 */
import { expect, it } from "@effect/vitest"
import { openSqlite } from "./support/Sqlite.js"
import { Effect } from "effect"
import { statSync } from "node:fs"
import { dirname, join } from "node:path"
import { startBalancer } from "./support/Balancer.js"

it.scopedLive("writes a consistent copy of the live database into backups/ beside it and audits it", () =>
  Effect.gen(function*() {
    const lb = yield* startBalancer()
    const endpoint = (yield* lb.admin("POST", "/endpoints", { name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" })).body

    const response = yield* lb.admin("POST", "/db/backup")
    expect(response.status).toBe(200)
    const { path, size_bytes } = response.body
    expect(response.body).toEqual({ status: "ok", path: expect.any(String), size_bytes: expect.any(Number) })
    expect(dirname(path)).toBe(join(dirname(lb.dbPath), "backups"))
    expect(path).toMatch(/\/lb-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.db$/)
    expect(size_bytes).toBe(statSync(path).size)

    // A standalone SQLite file: no -wal beside it is needed to read the endpoint just written.
    const copy = openSqlite(path, { readonly: true, fileMustExist: true })
    try {
      expect(copy.prepare("SELECT id, name, base_url FROM endpoints").all()).toEqual([
        { id: endpoint.id, name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" }
      ])
      expect(copy.pragma("integrity_check", { simple: true })).toBe("ok")
    } finally {
      copy.close()
    }

    const [entry] = (yield* lb.admin("GET", "/audit?limit=1")).body
    expect(entry).toMatchObject({
      action: "operations.db_backup",
      target_type: "operations",
      changes: { path: { new: path }, size_bytes: { new: size_bytes } }
    })

    // Another backup is another file; the first stays.
    const second = (yield* lb.admin("POST", "/db/backup")).body
    expect(second.path).not.toBe(path)
    expect(statSync(path).size).toBe(size_bytes)
  }), { timeout: 30_000 })

it.scopedLive("needs the admin token", () =>
  Effect.gen(function*() {
    const lb = yield* startBalancer()
    expect((yield* lb.fetch("POST", "/admin/api/db/backup")).status).toBe(401)
  }), { timeout: 30_000 })
