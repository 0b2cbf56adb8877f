import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { startBalancer } from "./support/Balancer.js"

const preflight = (url: string, origin: string) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" }
    })
  )

describe("CORS", () => {
  it.scopedLive("allows any origin by default, without credentials, and answers preflights", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const health = yield* lb.fetch("GET", "/health", { headers: { origin: "https://app.example" } })
      expect(health.headers.get("access-control-allow-origin")).toBe("*")
      expect(health.headers.get("access-control-allow-credentials")).toBeNull()
      expect(health.headers.get("access-control-expose-headers")).toContain("X-LB-Endpoint")
      const answer = yield* preflight(lb.url, "https://app.example")
      expect(answer.status).toBe(204)
      expect(answer.headers.get("access-control-allow-origin")).toBe("*")
      expect(answer.headers.get("access-control-allow-methods")).toContain("POST")
      expect(answer.headers.get("access-control-allow-headers")).toMatch(/Authorization/i)
      expect(answer.headers.get("access-control-allow-credentials")).toBeNull()
    }))

  it.scopedLive("with a list of origins, echoes an allowed one and refuses others", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_CORS_ORIGINS: "https://ok.example, https://also.example" })
      const allowed = yield* lb.fetch("GET", "/v1/models", { headers: { origin: "https://ok.example" } })
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://ok.example")
      expect(allowed.headers.get("vary")).toContain("Origin")
      const refused = yield* lb.fetch("GET", "/v1/models", { headers: { origin: "https://evil.example" } })
      expect(refused.headers.get("access-control-allow-origin")).toBeNull()
      const refusedPreflight = yield* preflight(lb.url, "https://evil.example")
      expect(refusedPreflight.headers.get("access-control-allow-origin")).toBeNull()
      expect(refusedPreflight.headers.get("access-control-allow-methods")).toBeNull()
      const allowedPreflight = yield* preflight(lb.url, "https://also.example")
      expect(allowedPreflight.headers.get("access-control-allow-origin")).toBe("https://also.example")
    }))
})
