import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { connectEndpoint, startBalancer } from "./support/Balancer.js"

const dashboard = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../docker/grafana/llm-load-balancer.json", import.meta.url)), "utf8")
)

/** The metric families a PromQL expression reads (histogram series mapped to their family). */
const familiesIn = (expr: string) =>
  [...expr.matchAll(/\b((?:lb|process|nodejs)_[a-z0-9_]+)/g)].map(([, name]) => name!.replace(/_(bucket|sum|count)$/, ""))

describe("the Grafana dashboard", () => {
  it.scopedLive("queries only metrics the balancer exports", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl)
      yield* lb.fetch("POST", "/v1/chat/completions", { body: { model: "m1", messages: [{ role: "user", content: "x" }], stream: true } })
      const scrape = String((yield* lb.fetch("GET", "/metrics")).body)
      const exported = new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name!))
      const queried = new Set<string>(dashboard.panels.flatMap((p: any) => p.targets.flatMap((t: any) => familiesIn(t.expr))))
      expect(queried.size).toBeGreaterThan(10)
      for (const family of queried) expect(exported, family).toContain(family)
    }))
})
