import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import { EventTickets } from "../src/admin/EventTickets.js"
import { simScoped } from "@llmlb/upstream-sim"
import { ADMIN_TOKEN, type Balancer, connectEndpoint, startBalancer } from "./support/Balancer.js"

interface EventStream {
  readonly status: number
  readonly headers: Headers
  /** The next event or comment block (without its blank line); null once the stream has ended. */
  readonly next: () => Promise<string | null>
}

/** Opens GET /admin/api/events the way a client without EventSource would; closed with the scope. */
const openEvents = (lb: Balancer, options: { readonly query?: string; readonly headers?: Record<string, string> } = {}) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<EventStream & { readonly abort: () => void }> => {
      const controller = new AbortController()
      const response = await fetch(`${lb.url}/admin/api/events${options.query ?? ""}`, {
        headers: options.headers ?? {},
        signal: controller.signal
      })
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
      let buffered = ""
      const next = async (): Promise<string | null> => {
        for (;;) {
          const end = buffered.indexOf("\n\n")
          if (end >= 0) {
            const block = buffered.slice(0, end)
            buffered = buffered.slice(end + 2)
            return block
          }
          const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }))
          if (chunk.done) return null
          buffered += chunk.value
        }
      }
      return { status: response.status, headers: response.headers, next, abort: () => controller.abort() }
    }),
    (stream) => Effect.sync(stream.abort)
  )

const withToken = { headers: { "x-admin-token": ADMIN_TOKEN } }

/** The state carried by the next `data:` event. */
const nextState = (stream: EventStream) =>
  Effect.promise(async () => {
    for (;;) {
      const block = await stream.next()
      if (block === null) throw new Error("the event stream ended")
      if (block.startsWith("data: ")) return JSON.parse(block.slice("data: ".length))
    }
  })

describe("live events", () => {
  it.scopedLive("streams the admin state at once as text/event-stream", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      yield* lb.admin("POST", "/endpoints", { name: "a", base_url: "http://127.0.0.1:9001/v1" })
      const stream = yield* openEvents(lb, withToken)
      expect(stream.status).toBe(200)
      expect(stream.headers.get("content-type")).toBe("text/event-stream")
      expect(stream.headers.get("cache-control")).toBe("no-cache")
      expect(yield* nextState(stream)).toEqual((yield* lb.admin("GET", "/state")).body)
    }))

  it.scopedLive("pushes the state every second", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const stream = yield* openEvents(lb, withToken)
      yield* nextState(stream)
      const started = Date.now()
      yield* nextState(stream)
      yield* nextState(stream)
      expect(Date.now() - started).toBeGreaterThan(1500)
      expect(Date.now() - started).toBeLessThan(2500)
    }))

  it.scopedLive("delivers a change within a second of it", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const endpoint = (yield* lb.admin("POST", "/endpoints", { name: "before", base_url: "http://127.0.0.1:9001/v1" })).body
      const stream = yield* openEvents(lb, withToken)
      yield* nextState(stream)
      // Just after a periodic push, so that only an immediate one can arrive in time.
      yield* Effect.sleep("50 millis")
      const changedAt = Date.now()
      yield* lb.admin("PATCH", `/endpoints/${endpoint.id}`, { name: "after" })
      let state = yield* nextState(stream)
      while (state.endpoints[0].name !== "after") state = yield* nextState(stream)
      expect(Date.now() - changedAt).toBeLessThan(500)
    }))

  it.scopedLive("delivers a stats reset within a second too, though it changes no configuration", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer()
      yield* connectEndpoint(lb, upstream.baseUrl)
      yield* lb.fetch("POST", "/v1/chat/completions", { body: { model: "m1", messages: [{ role: "user", content: "x" }] } })
      const stream = yield* openEvents(lb, withToken)
      expect((yield* nextState(stream)).global.requests).toBe(1)
      yield* Effect.sleep("50 millis")
      const resetAt = Date.now()
      yield* lb.admin("POST", "/reset-stats")
      let state = yield* nextState(stream)
      while (state.global.requests !== 0) state = yield* nextState(stream)
      expect(Date.now() - resetAt).toBeLessThan(500)
    }))

  it.scopedLive("refuses a missing, empty or wrong token with 401", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      for (const headers of [{}, { "x-admin-token": "" }, { "x-admin-token": "wrong-token-0123456789" }]) {
        const response = yield* lb.fetch("GET", "/admin/api/events", { headers })
        expect(response.status).toBe(401)
        expect(response.body).toEqual({ _tag: "Unauthorized", message: expect.stringContaining("X-Admin-Token") })
      }
      expect((yield* lb.fetch("GET", "/admin/api/events?ticket=made-up")).status).toBe(401)
    }))

  it.scopedLive("accepts a ticket once, in place of the token", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      expect((yield* lb.fetch("POST", "/admin/api/events/ticket")).status).toBe(401)
      const issued = yield* lb.admin("POST", "/events/ticket")
      expect(issued.status).toBe(200)
      expect(issued.body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expires_in_seconds: 30 })
      const query = `?ticket=${issued.body.ticket}`
      const stream = yield* openEvents(lb, { query })
      expect(stream.status).toBe(200)
      expect((yield* nextState(stream)).version).toBe("3.1.0")
      expect((yield* lb.fetch("GET", `/admin/api/events${query}`)).status).toBe(401)
      const other = (yield* lb.admin("POST", "/events/ticket")).body.ticket
      expect(other).not.toBe(issued.body.ticket)
    }))

  it.scopedLive("ends the streams when the balancer shuts down", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const lb = yield* startBalancer().pipe(Scope.extend(scope))
      const stream = yield* openEvents(lb, withToken)
      yield* nextState(stream)
      yield* Scope.close(scope, Exit.void)
      const rest = yield* Effect.promise(async () => {
        for (;;) if ((await stream.next()) === null) return "ended"
      }).pipe(Effect.timeout("2 seconds"))
      expect(rest).toBe("ended")
    }))
})

describe("event tickets", () => {
  const tickets = EventTickets.Default

  it.effect("are valid for 30 seconds", () =>
    Effect.gen(function*() {
      const service = yield* EventTickets
      const fresh = (yield* service.issue).ticket
      const stale = (yield* service.issue).ticket
      yield* TestClock.adjust("29 seconds")
      expect(yield* service.redeem(fresh)).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* service.redeem(stale)).toBe(false)
    }).pipe(Effect.provide(tickets)))

  it.effect("are single use and unguessable", () =>
    Effect.gen(function*() {
      const service = yield* EventTickets
      const { ticket } = yield* service.issue
      expect(yield* service.redeem(ticket)).toBe(true)
      expect(yield* service.redeem(ticket)).toBe(false)
      expect(yield* service.redeem("")).toBe(false)
      const many = new Set<string>()
      for (let i = 0; i < 100; i++) many.add((yield* service.issue).ticket)
      expect(many.size).toBe(100)
    }).pipe(Effect.provide(tickets)))
})
