/**
 * The audit log's retention bounds (LB_AUDIT_RETENTION_DAYS, LB_AUDIT_MAX_ROWS), applied by the audit
 * service's background fiber at start, against a real SQLite file filled beforehand.
 */
import { describe, expect, it } from "@effect/vitest"
import { openSqlite } from "./support/Sqlite.js"
import { Effect, Exit, Scope, TestClock } from "effect"
import { setTimeout as delay } from "node:timers/promises"
import { startBalancer, tempDbPath } from "./support/Balancer.js"

const DAY_MS = 86_400_000

/** Adds `old` entries from 200 days ago, then `recent` ones from the last hour. */
const seed = (dbPath: string, old: number, recent: number) => {
    const db = openSqlite(dbPath)
    const insert = db.prepare(
      "INSERT INTO audit_log (time, action, target_type, target_id, changes, client_address) VALUES (?, 'endpoint.update', 'endpoint', ?, '{}', '127.0.0.1')"
    )
    const now = Date.now()
    db.transaction(() => {
      for (let i = 0; i < old; i++) insert.run(new Date(now - 200 * DAY_MS + i).toISOString(), `old-${i}`)
      for (let i = 0; i < recent; i++) insert.run(new Date(now - 3_600_000 + i).toISOString(), `recent-${i}`)
    })()
    db.close()
}

/** A migrated database, seeded. */
const seededDatabase = (old: number, recent: number) =>
  Effect.gen(function*() {
    const dbPath = tempDbPath()
    const scope = yield* Scope.make()
    yield* Scope.extend(startBalancer({}, dbPath), scope)
    yield* Scope.close(scope, Exit.void)
    seed(dbPath, old, recent)
    return dbPath
  })

/** The target ids left in the log, oldest first, once it has stopped shrinking. */
const settledTargets = (dbPath: string, expectedRows: number) =>
  Effect.gen(function*() {
    const db = openSqlite(dbPath, { readonly: true })
    try {
      const count = () => (db.prepare("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n
      // Real time, also under the TestClock.
      for (let i = 0; i < 300 && count() !== expectedRows; i++) yield* Effect.promise(() => delay(50))
      return (db.prepare("SELECT target_id FROM audit_log ORDER BY id").all() as Array<{ target_id: string }>).map((r) => r.target_id)
    } finally {
      db.close()
    }
  })

describe("audit retention", () => {
  it.scopedLive("deletes entries older than LB_AUDIT_RETENTION_DAYS at start, in batches past 5,000", () =>
    Effect.gen(function*() {
      const dbPath = yield* seededDatabase(12_000, 30)
      const lb = yield* startBalancer({ LB_AUDIT_RETENTION_DAYS: "90", LB_AUDIT_MAX_ROWS: "0" }, dbPath)
      const left = yield* settledTargets(dbPath, 30)
      expect(left).toEqual(Array.from({ length: 30 }, (_, i) => `recent-${i}`))
      // The API pages what is left.
      expect((yield* lb.admin("GET", "/audit?limit=1000")).body).toHaveLength(30)
    }), { timeout: 60_000 })

  it.scopedLive("keeps only the newest LB_AUDIT_MAX_ROWS entries", () =>
    Effect.gen(function*() {
      const dbPath = yield* seededDatabase(10, 40)
      yield* startBalancer({ LB_AUDIT_RETENTION_DAYS: "0", LB_AUDIT_MAX_ROWS: "25" }, dbPath)
      const left = yield* settledTargets(dbPath, 25)
      expect(left).toEqual(Array.from({ length: 25 }, (_, i) => `recent-${i + 15}`))
    }), { timeout: 30_000 })

  it.scopedLive("applies both bounds together: the stricter one wins", () =>
    Effect.gen(function*() {
      const dbPath = yield* seededDatabase(10, 40)
      yield* startBalancer({ LB_AUDIT_RETENTION_DAYS: "90", LB_AUDIT_MAX_ROWS: "45" }, dbPath)
      expect(yield* settledTargets(dbPath, 40)).toEqual(Array.from({ length: 40 }, (_, i) => `recent-${i}`))
    }), { timeout: 30_000 })

  it.scopedLive("keeps everything when both bounds are 0", () =>
    Effect.gen(function*() {
      const dbPath = yield* seededDatabase(10, 5)
      const lb = yield* startBalancer({ LB_AUDIT_RETENTION_DAYS: "0", LB_AUDIT_MAX_ROWS: "0" }, dbPath)
      yield* lb.admin("POST", "/reset-stats") // one entry more, written within a second
      expect(yield* settledTargets(dbPath, 16)).toHaveLength(16)
    }), { timeout: 30_000 })

  it.scopedLive("keeps 90 days by default", () =>
    Effect.gen(function*() {
      const dbPath = yield* seededDatabase(3, 4)
      yield* startBalancer({}, dbPath)
      expect(yield* settledTargets(dbPath, 4)).toEqual(["recent-0", "recent-1", "recent-2", "recent-3"])
    }), { timeout: 30_000 })

  it.scoped("prunes again every 10 minutes while running", () =>
    Effect.gen(function*() {
      const dbPath = tempDbPath()
      // Few other timers, so that moving the TestClock by minutes stays quick.
      yield* startBalancer({ LB_AUDIT_MAX_ROWS: "5", LB_STATS_FLUSH_SECONDS: "600", LB_MODELS_REFRESH_SECONDS: "600" }, dbPath)
      // Written beside the running balancer (WAL allows a second connection) after its pruning at start.
      yield* Effect.promise(() => delay(200))
      seed(dbPath, 0, 8)
      yield* TestClock.adjust("9 minutes")
      yield* Effect.promise(() => delay(300))
      expect(yield* settledTargets(dbPath, 8)).toHaveLength(8)
      yield* TestClock.adjust("1 minute")
      expect(yield* settledTargets(dbPath, 5)).toEqual(["recent-3", "recent-4", "recent-5", "recent-6", "recent-7"])
    }), { timeout: 30_000 })

  it.effect("refuses a negative bound at start, naming the variable", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(startBalancer({ LB_AUDIT_MAX_ROWS: "-1" })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("LB_AUDIT_MAX_ROWS")
    }), { timeout: 30_000 })
})
