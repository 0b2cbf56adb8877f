/**
 * The client limit tests, unchanged, with the counts in a real Redis (LB_REDIS_URL, issue 14 item 4):
 * the headers, refusals and holds must be the same as when a balancer counts in its own process.
 */
import { afterAll } from "vitest"
import { useSharedEnv } from "./support/Balancer.js"
import { startRedis } from "./support/Engines.js"

const redis = await startRedis()
// A generous timeout: these exact answers must not meet the failure policy on a loaded machine. Every
// balancer's admin calls come from 127.0.0.1 and now share one count: not the limit under test here.
useSharedEnv({ LB_REDIS_URL: redis.url(), LB_REDIS_TIMEOUT_MS: "5000", LB_ADMIN_RATE_LIMIT_RPM: "100000" })
afterAll(async () => {
  useSharedEnv({})
  await redis.close()
})

await import("./tpm-reservation.test.js")
await import("./tokens.test.js")
