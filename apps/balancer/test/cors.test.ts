import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { requestedHeaders } from "../src/protection/Cors.js"
import { startBalancer } from "./support/Balancer.js"

const preflight = (url: string, origin: string, requestHeaders = "authorization,content-type") =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": requestHeaders }
    })
  )

/** What the OpenAI JS SDK asks for from a browser (dangerouslyAllowBrowser). */
const SDK_HEADERS = "x-stainless-os, x-stainless-lang, openai-organization, authorization, content-type"

const allowedNames = (response: Response) =>
  (response.headers.get("access-control-allow-headers") ?? "").split(",").map((name) => name.trim().toLowerCase())

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

  it.scopedLive("allows the headers a preflight asks for when they are well-formed names, else the fixed list", () =>
    Effect.gen(function*() {
      for (const env of [{}, { LB_CORS_ORIGINS: "https://ok.example" }]) {
        const lb = yield* startBalancer(env)
        const sdk = yield* preflight(lb.url, "https://ok.example", SDK_HEADERS)
        expect(sdk.status).toBe(204)
        expect(allowedNames(sdk)).toEqual(expect.arrayContaining(SDK_HEADERS.split(", ")))
        expect(sdk.headers.get("access-control-allow-credentials")).toBeNull()
        expect(sdk.headers.get("vary")).toContain("Access-Control-Request-Headers")

        for (const malformed of ["x-ok, bad header", "x-ok,,x-other", "x-(paren)", `x-${"a".repeat(2100)}`]) {
          const fallback = yield* preflight(lb.url, "https://ok.example", malformed)
          expect(fallback.status).toBe(204)
          expect(allowedNames(fallback)).toEqual(
            expect.arrayContaining(["authorization", "content-type", "x-admin-token", "x-request-id"])
          )
          expect(allowedNames(fallback)).not.toContain("x-ok")
        }
      }
      const lb = yield* startBalancer({ LB_CORS_ORIGINS: "https://ok.example" })
      const refused = yield* preflight(lb.url, "https://evil.example", SDK_HEADERS)
      expect(refused.headers.get("access-control-allow-headers")).toBeNull()
    }))

  it("reads a request header list only when every name is a token", () => {
    expect(requestedHeaders("x-stainless-os,openai-project")).toBe("x-stainless-os, openai-project")
    expect(requestedHeaders(" accept ,\tx-stainless-retry-count\t")).toBe("accept, x-stainless-retry-count")
    expect(requestedHeaders("a!#$%&'*+-.^_`|~9")).toBe("a!#$%&'*+-.^_`|~9")
    for (const bad of [undefined, "", " ", "a,", "a b", "a;b", "a:b", "x\r\nset-cookie: 1", "é", `${"a,".repeat(1024)}a`]) {
      expect([bad, requestedHeaders(bad)]).toEqual([bad, undefined])
    }
    expect(requestedHeaders("a".repeat(2048))).toBe("a".repeat(2048))
  })
})
