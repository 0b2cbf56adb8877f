/**
 * The admin API tests, unchanged, against PostgreSQL (a fresh database per balancer): the answers
 * must be the same as on SQLite (issue 14 item 1).
 */
import { afterAll } from "vitest"
import { useDatabaseFactory } from "./support/Balancer.js"
import { startPostgres } from "./support/Engines.js"

const postgres = await startPostgres()
useDatabaseFactory(postgres.createDatabase)
afterAll(() => {
  useDatabaseFactory(undefined)
  postgres.stop()
})

await import("./admin.test.js")
