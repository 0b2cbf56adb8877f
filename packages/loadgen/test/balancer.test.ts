/** Through the balancer: the per-endpoint breakdown (by X-LB-Endpoint) matches the balancer's own counters. */
import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { connectEndpoint, startBalancer } from "../../../apps/balancer/test/support/Balancer.js"
import { runLoad } from "../src/Run.js"
import { settings } from "./support.js"

describe("through the balancer", () => {
  it.scopedLive("the per-endpoint breakdown matches GET /admin/api/state endpoints[].stats", () =>
    Effect.gen(function*() {
      const a = yield* simScoped({ models: ["m1"], outputTokens: 3, ttftMs: 5 })
      const b = yield* simScoped({ models: ["m1"], outputTokens: 7, ttftMs: 5 })
      const lb = yield* startBalancer()
      const ea = yield* connectEndpoint(lb, a.baseUrl)
      const eb = yield* connectEndpoint(lb, b.baseUrl)
      const { report, status } = yield* runLoad(settings({ base_url: `${lb.url}/v1`, model: "m1", concurrency: 4, requests: 60 }))
      expect(status).toBe("done")
      const state = (yield* lb.admin("GET", "/state")).body
      const stats = (id: string) => state.endpoints.find((e: any) => e.id === id).stats
      for (const endpoint of [ea, eb]) {
        const ours = report.endpoints[endpoint.name]!
        const theirs = stats(endpoint.id)
        expect(ours.requests).toBe(theirs.requests)
        expect(ours.errors).toBe(theirs.failures)
        expect(ours.output_tokens).toBe(theirs.completion_tokens)
      }
      expect(report.endpoints[ea.name]!.requests + report.endpoints[eb.name]!.requests).toBe(60)
      expect(report.endpoints[ea.name]!.requests).toBeGreaterThan(0)
      expect(report.endpoints[eb.name]!.requests).toBeGreaterThan(0)
      const share = report.endpoints[ea.name]!.output_token_share + report.endpoints[eb.name]!.output_token_share
      expect(share).toBeCloseTo(1, 9)
    }), 60_000)
})
