import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { tempDbPath } from "./support/Balancer.js"
import { spawnBalancer } from "./support/Process.js"

const TOKEN = "drain-admin-token-0123456789"

/** Reads a streamed response to its end; the text, or where it broke. */
const readAll = (response: Response) => response.text().catch((error) => `BROKEN: ${String(error)}`)

const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

describe("graceful shutdown (SIGTERM to dist/main.js)", () => {
  it.scopedLive("finishes in-flight streams, refuses new and queued requests, reports draining, exits 0", () =>
    Effect.gen(function*() {
      // Each stream takes ~1.5 s: 15 tokens, 100 ms apart.
      const upstream = yield* simScoped({ models: ["m1"], interTokenMs: 100, outputTokens: 15 })
      const lb = yield* spawnBalancer({ LB_DB_PATH: tempDbPath(), LB_ADMIN_TOKEN: TOKEN, LB_DRAIN_TIMEOUT_SECONDS: "10" })
      const created = yield* Effect.promise(() =>
        fetch(`${lb.url}/admin/api/endpoints`, {
          method: "POST",
          headers: { "x-admin-token": TOKEN, "content-type": "application/json" },
          body: JSON.stringify({ name: "sim", base_url: upstream.baseUrl, connected: true, max_concurrent: 2 })
        })
      )
      expect(created.status).toBe(201)
      const stream = { model: "m1", messages: [{ role: "user", content: "go" }], stream: true }

      const outcome = yield* Effect.promise(async () => {
        const streams = await Promise.all([post(lb.url, stream), post(lb.url, stream)])
        // Both streams have started; a third request waits in the queue for a free slot.
        const queued = post(lb.url, stream)
        await new Promise((r) => setTimeout(r, 200))
        lb.child.kill("SIGTERM")
        await new Promise((r) => setTimeout(r, 200))
        const queuedStatus = (await queued).status
        const health = await fetch(`${lb.url}/health`)
        const fresh = await post(lb.url, stream)
        const texts = await Promise.all(streams.map(readAll))
        const code = await lb.exited
        return {
          queuedStatus,
          health: { status: health.status, body: await health.json() },
          freshStatus: fresh.status,
          freshHeaders: [fresh.headers.get("x-request-id"), fresh.headers.get("x-lb-version")],
          texts,
          code
        }
      })

      expect(outcome.queuedStatus).toBe(503)
      expect(outcome.health.status).toBe(503)
      expect(outcome.health.body.status).toBe("draining")
      expect(outcome.freshStatus).toBe(503)
      expect(outcome.freshHeaders).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), "3.1.0"])
      for (const text of outcome.texts) {
        expect(text).toContain("tok15")
        expect(text.trim().endsWith("data: [DONE]")).toBe(true)
      }
      expect(outcome.code).toBe(0)
      expect(upstream.counters().completed).toBe(2)
    }), 30_000)
})
