import { HttpLayerRouter } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, FastCheck as fc } from "effect"
import { isAdminApi } from "../src/protection/AdminGuard.js"
import { ADMIN_TOKEN, type Balancer, startBalancer } from "./support/Balancer.js"
import { pumpChunked, rawRequest } from "./support/RawHttp.js"

const valid = { name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" }
const token = { "x-admin-token": ADMIN_TOKEN }
const from = (client: string) => ({ "x-forwarded-for": client })

const getState = (lb: Balancer, headers: Record<string, string>) =>
  lb.fetch("GET", "/admin/api/state", { headers }).pipe(Effect.map((response) => response.status))

/** The client address the audit log recorded for a mutation made with these headers. */
const auditedAddress = (lb: Balancer, headers: Record<string, string>) =>
  Effect.gen(function*() {
    const created = yield* lb.fetch("POST", "/admin/api/incoming-blocks", {
      body: { name: `b${Math.random().toString(36).slice(2, 10)}` },
      headers: { ...token, ...headers }
    })
    expect(created.status).toBe(201)
    const [latest] = (yield* lb.admin("GET", "/audit?limit=1")).body
    expect(latest.target_id).toBe(created.body.id)
    return latest.client_address as string
  })

describe("admin rate limit", () => {
  it.scopedLive("answers 429 with Retry-After once an address has used LB_ADMIN_RATE_LIMIT_RPM, failed token guesses included", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_ADMIN_RATE_LIMIT_RPM: "5", LB_TRUSTED_PROXIES: "127.0.0.1" })
      const attacker = from("203.0.113.9")
      for (let i = 0; i < 5; i++) expect(yield* getState(lb, { ...attacker, "x-admin-token": `guess-${i}` })).toBe(401)

      const refused = yield* lb.fetch("GET", "/admin/api/state", { headers: { ...attacker, "x-admin-token": "guess-5" } })
      expect(refused.status).toBe(429)
      expect(refused.body).toEqual({ _tag: "TooManyRequests", message: expect.stringContaining("203.0.113.9") })
      const retryAfter = Number(refused.headers.get("retry-after"))
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true)
      // The limit is the address's: the right token does not lift it.
      expect(yield* getState(lb, { ...attacker, ...token })).toBe(429)

      expect(yield* getState(lb, { ...from("198.51.100.7"), ...token })).toBe(200)
      for (const path of ["/health", "/metrics", "/v1/models"]) {
        expect((yield* lb.fetch("GET", path, { headers: attacker })).status).toBe(200)
      }
    }))

  it.scopedLive("counts every route under /admin/api, however its path is spelled", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_ADMIN_RATE_LIMIT_RPM: "7" })
      const spellings = [
        ["GET", "/admin/api/openapi.json", 200],
        ["POST", "/admin/api/events/ticket", 401],
        ["GET", "/admin/api/events?ticket=bogus", 401],
        ["GET", "//admin//api/state", 401],
        ["GET", "/%61dmin/api/state", 401],
        ["GET", "/ADMIN/API/STATE/", 401],
        ["GET", "http://localhost/admin/api/state", 401]
      ] as const
      for (const [method, target, status] of spellings) {
        expect([target, (yield* rawRequest(lb.url, { method, target })).status]).toEqual([target, status])
      }
      const over = yield* rawRequest(lb.url, { target: "/admin/api/state;jsessionid=1" })
      expect([over.status, over.headers["retry-after"]]).toEqual([429, expect.stringMatching(/^\d+$/)])
    }))

  it.scopedLive("limits an IPv6 client by its /64 network", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_ADMIN_RATE_LIMIT_RPM: "2", LB_TRUSTED_PROXIES: "127.0.0.1" })
      expect(yield* getState(lb, from("2001:db8:1:2::1"))).toBe(401)
      expect(yield* getState(lb, from("2001:db8:1:2::ffff"))).toBe(401)
      expect(yield* getState(lb, from("2001:db8:1:2:aaaa::1"))).toBe(429)
      expect(yield* getState(lb, from("2001:db8:1:3::1"))).toBe(401)
    }))
})

describe("admin paths", () => {
  // The control plane's router, as HttpLayerRouter makes it, with routes like ours.
  const router = HttpLayerRouter.FindMyWay.make<string>()
  for (const path of ["/admin/api/state", "/admin/api/endpoints/:eid", "/admin/api/events", "/admin/api/openapi.json", "/admin/*", "/health"] as const) {
    router.on("GET", path, path)
  }
  const segment = fc.constantFrom("admin", "ADMIN", "%61dmin", "adm%69n", "%41DMIN", "api", "Api", "%61pi", "state", "STATE", "st%61te", "endpoints", "e1",
    "events", "openapi.json", "health", "", ".", "..", "%2f", "x")
  const target = fc.tuple(
    fc.constantFrom("", "http://h", "https://h:1"),
    fc.array(fc.tuple(fc.constantFrom("/", "//", "///"), segment), { minLength: 1, maxLength: 5 }),
    fc.constantFrom("", "/", "?a=1", ";x", "#f", "/?", "%20")
  ).map(([origin, parts, suffix]) => origin + parts.map(([slash, part]) => slash + part).join("") + suffix)

  it.prop("count every target the router sends to the admin API", [target], ([url]) => {
    if (router.find("GET", url)?.handler.startsWith("/admin/api/")) expect(isAdminApi(url)).toBe(true)
  }, { fastCheck: { numRuns: 2000 } })
})

describe("client addresses", () => {
  it.scopedLive("ignore X-Forwarded-For without LB_TRUSTED_PROXIES: the socket's address is audited and limited", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_ADMIN_RATE_LIMIT_RPM: "4" })
      expect(yield* auditedAddress(lb, from("203.0.113.9"))).toBe("127.0.0.1")
      // The audit read above was the second request of 127.0.0.1, whatever X-Forwarded-For says.
      expect(yield* getState(lb, from("198.51.100.1"))).toBe(401)
      expect(yield* getState(lb, from("198.51.100.2"))).toBe(401)
      expect(yield* getState(lb, from("198.51.100.3"))).toBe(429)
    }))

  it.scopedLive("are the nearest untrusted X-Forwarded-For hop behind trusted proxies, as audited", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8" })
      const cases = [
        ["6.6.6.6, 203.0.113.9", "203.0.113.9"],
        ["203.0.113.9, 10.1.2.3, 10.0.0.1", "203.0.113.9"],
        ["10.0.0.7, 10.0.0.1", "10.0.0.7"],
        ["2001:DB8:0::7", "2001:db8::7"],
        ["::ffff:198.51.100.1", "198.51.100.1"],
        ["[2001:db8::8]:4711", "2001:db8::8"]
      ]
      for (const [forwarded, client] of cases) expect([forwarded, yield* auditedAddress(lb, from(forwarded!))]).toEqual([forwarded, client])
      expect(yield* auditedAddress(lb, {})).toBe("127.0.0.1")
    }))

  it.scopedLive("ignore X-Forwarded-For from a peer outside LB_TRUSTED_PROXIES", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_TRUSTED_PROXIES: "10.0.0.0/8, ::2" })
      expect(yield* auditedAddress(lb, from("203.0.113.9"))).toBe("127.0.0.1")
    }))

  it.scopedLive("refuse to start with an LB_TRUSTED_PROXIES entry that is not an address or CIDR block", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(startBalancer({ LB_TRUSTED_PROXIES: "10.0.0.0/8, proxy.internal" }))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(Cause.pretty(exit.cause)).toMatch(/LB_TRUSTED_PROXIES.*proxy\.internal/)
    }))
})

describe("admin request bodies", () => {
  it.scopedLive("413 for a declared body over LB_MAX_REQUEST_BODY_BYTES, 415 for one that is not JSON, 400 for broken JSON", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_MAX_REQUEST_BODY_BYTES: "1000" })
      const big = yield* lb.admin("POST", "/endpoints", { ...valid, api_key: "k".repeat(2000) })
      expect([big.status, big.body]).toEqual([413, { _tag: "PayloadTooLarge", message: expect.stringContaining("1000 bytes") }])
      const form = "name=form&base_url=http%3A%2F%2Fh%3A1%2Fv1"
      for (const type of ["multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain", "application/xml"]) {
        const refused = yield* lb.fetch("POST", "/admin/api/endpoints", { body: form, headers: { ...token, "content-type": type } })
        expect([type, refused.status, refused.body._tag]).toEqual([type, 415, "UnsupportedMediaType"])
      }
      const broken = yield* lb.admin("POST", "/endpoints", "{\"name\": \"broken\",")
      expect([broken.status, broken.body]).toEqual([400, { _tag: "BadRequest", message: "The request body is not valid JSON" }])
      const json = yield* lb.fetch("POST", "/admin/api/endpoints", {
        body: valid,
        headers: { ...token, "content-type": "application/json; charset=utf-8" }
      })
      expect(json.status).toBe(201)
      expect((yield* lb.admin("GET", "/endpoints")).body.map((e: any) => e.name)).toEqual([valid.name])
    }))

  it.scopedLive("cuts off a body sent without a length at LB_MAX_REQUEST_BODY_BYTES, and takes a small one", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_MAX_REQUEST_BODY_BYTES: "1000" })
      const headers = { ...token, "content-type": "application/json" }
      const cut = yield* pumpChunked(`${lb.url}/admin/api/endpoints`, headers)
      expect(cut.status).toBe("closed")
      expect(cut.sent).toBeLessThan(100_000)
      const small = yield* rawRequest(lb.url, {
        method: "POST",
        target: "/admin/api/endpoints",
        headers: { ...headers, "transfer-encoding": "chunked" },
        body: JSON.stringify(valid)
      })
      expect(small.status).toBe(201)
    }))
})

describe("SQL-looking names", () => {
  const names = [
    "Robert'); DROP TABLE endpoints;--",
    `" OR "1"="1`,
    "x' OR 1=1 --",
    "'; DELETE FROM audit_log; --",
    "名前 🚀 Überlänge",
    "\u202Eevil\u200B",
    "100% _wild_ \\ card",
    "--"
  ]

  it.scopedLive("are stored and returned verbatim for endpoints, in every view", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const ids: Array<string> = []
      for (const name of names) {
        const created = yield* lb.admin("POST", "/endpoints", { ...valid, name })
        expect([created.status, created.body.name]).toEqual([201, name])
        expect((yield* lb.admin("GET", `/endpoints/${created.body.id}`)).body.name).toBe(name)
        ids.push(created.body.id)
      }
      expect((yield* lb.admin("GET", "/endpoints")).body.map((e: any) => e.name)).toEqual(names)
      expect((yield* lb.admin("GET", "/state")).body.endpoints.map((e: any) => e.name)).toEqual(names)
      const renamed = yield* lb.admin("PATCH", `/endpoints/${ids[0]}`, { name: `${names[0]}'--` })
      expect(renamed.body.name).toBe(`${names[0]}'--`)
      const audited = (yield* lb.admin("GET", "/audit")).body.filter((e: any) => e.action === "endpoint.create")
      expect(audited.map((e: any) => e.changes.name.new).reverse()).toEqual(names)
    }))

  it.scopedLive("are stored verbatim for blocks where the name rules allow them, and refused with 400 where not", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      for (const name of ["drop--table", "x_--_y", "select-1"]) {
        const created = yield* lb.admin("POST", "/incoming-blocks", { name })
        expect([created.status, (yield* lb.admin("GET", `/incoming-blocks/${created.body.id}`)).body.name]).toEqual([201, name])
      }
      for (const name of ["x'; drop table incoming_blocks; --", "a\" or \"1\"=\"1", "名前"]) {
        const refused = yield* lb.admin("POST", "/incoming-blocks", { name })
        expect([refused.status, refused.body.message]).toEqual([400, expect.stringContaining("name")])
      }
      expect((yield* lb.admin("GET", "/incoming-blocks")).body.map((b: any) => b.name)).toEqual(["default", "drop--table", "x_--_y", "select-1"])
    }))
})
