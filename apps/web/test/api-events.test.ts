/**
 * The live event stream: backoff arithmetic, the reconnect state machine (scripted EventSource and
 * timers), and the real thing against the built balancer, which is killed and started again.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnBalancer } from "../../balancer/test/support/Process.js"
import {
  ApiError,
  backoffDelay,
  createAdminSession,
  createEventStream,
  type EventSourceLike,
  type Timers,
  TOKEN_STORAGE_KEY
} from "../src/api/index.js"
import { freePort, memoryStorage, NodeEventSource, waitFor } from "./api-support.js"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const fixed = (random: number) => ({ baseMs: 500, maxMs: 10_000, random: () => random })

describe("backoff", () => {
  it("doubles from the base up to the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => Math.round(backoffDelay(n, fixed(0.999999))))).toEqual(
      [500, 1000, 2000, 4000, 8000, 10_000, 10_000]
    )
  })

  it("keeps a random half of each wait (equal jitter)", () => {
    expect([0, 1, 5].map((n) => backoffDelay(n, fixed(0)))).toEqual([250, 500, 5000])
    expect(backoffDelay(2, fixed(0.5))).toBe(1500)
  })
})

/** Timers that fire only when the test says so. */
const manualTimers = () => {
  let next = 1
  const pending = new Map<number, { readonly callback: () => void; readonly ms: number }>()
  const timers: Timers = {
    setTimeout: (callback, ms) => {
      const id = next++
      pending.set(id, { callback, ms })
      return id
    },
    clearTimeout: (id) => void pending.delete(id as number)
  }
  return {
    timers,
    /** The delays of the pending timers, shortest first. */
    delays: () => [...pending.values()].map((t) => t.ms).sort((a, b) => a - b),
    /** Fires the pending timer with this delay. */
    fire: (ms: number) => {
      const entry = [...pending.entries()].find(([, t]) => t.ms === ms)
      if (entry === undefined) throw new Error(`no timer of ${ms} ms among ${[...pending.values()].map((t) => t.ms)}`)
      pending.delete(entry[0])
      entry[1].callback()
    }
  }
}

/** An EventSource the test drives: every instance is kept with the URL it opened. */
const scriptedSources = () => {
  const opened: Array<EventSourceLike & { readonly url: string; closed: boolean }> = []
  class Scripted implements EventSourceLike {
    onopen: ((event: Event) => void) | null = null
    onmessage: ((event: MessageEvent<string>) => void) | null = null
    onerror: ((event: Event) => void) | null = null
    closed = false
    constructor(readonly url: string) {
      opened.push(this)
    }
    close() {
      this.closed = true
    }
  }
  const last = () => opened[opened.length - 1]!
  return {
    EventSource: Scripted,
    opened,
    open: () => last().onopen?.(new Event("open")),
    message: (data: unknown) => last().onmessage?.(new MessageEvent("message", { data: JSON.stringify(data) })),
    error: () => last().onerror?.(new Event("error"))
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

const scriptedStream = (ticket: () => Promise<string> = () => Promise.resolve("t")) => {
  const timers = manualTimers()
  const sources = scriptedSources()
  let tickets = 0
  const stream = createEventStream({
    ticket: () => (tickets++, ticket()),
    url: (t) => `/admin/api/events?ticket=${t}-${tickets}`,
    retryAfter: (error) => !(error instanceof ApiError && error.status === 401),
    EventSource: sources.EventSource,
    timers: timers.timers,
    backoff: fixed(0.999999),
    silenceMs: 7000
  })
  return { stream, timers, sources, tickets: () => tickets }
}

describe("event stream state machine", () => {
  it("is connecting until the stream opens, then open, and hands every state to the subscribers", async () => {
    const { stream, sources } = scriptedStream()
    const seen: Array<unknown> = []
    stream.subscribe((state) => seen.push(state.version))
    stream.start()
    expect(stream.status()).toBe("connecting")
    await tick()
    expect(sources.opened.map((s) => s.url)).toEqual(["/admin/api/events?ticket=t-1"])
    sources.open()
    expect(stream.status()).toBe("open")
    sources.message({ version: "1.2.3" })
    expect(seen).toEqual(["1.2.3"])
  })

  it("after a drop is lost, closes the source and reconnects with a new ticket after doubling waits", async () => {
    const { stream, sources, timers, tickets } = scriptedStream()
    stream.start()
    await tick()
    sources.open()
    sources.message({})
    const waits: Array<number> = []
    for (let i = 0; i < 6; i++) {
      sources.error()
      expect(stream.status()).toBe("lost")
      expect(sources.opened[sources.opened.length - 1]!.closed).toBe(true)
      const wait = timers.delays().find((ms) => ms !== 7000)!
      waits.push(Math.round(wait))
      timers.fire(wait)
      await tick()
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 10_000])
    expect(tickets()).toBe(7)
    expect(new Set(sources.opened.map((s) => s.url)).size).toBe(7)
    sources.open()
    expect(stream.status()).toBe("open")
  })

  it("starts the waits from the base again once data flows", async () => {
    const { stream, sources, timers } = scriptedStream()
    stream.start()
    await tick()
    for (let i = 0; i < 2; i++) {
      sources.error()
      timers.fire(timers.delays().find((ms) => ms !== 7000)!)
      await tick()
    }
    sources.open()
    expect(stream.attempts()).toBe(2)
    sources.message({})
    expect(stream.attempts()).toBe(0)
    sources.error()
    expect(timers.delays().map(Math.round)).toEqual([500])
  })

  it("treats a silent connection as dropped", async () => {
    const { stream, sources, timers } = scriptedStream()
    stream.start()
    await tick()
    sources.open()
    sources.message({})
    timers.fire(7000)
    expect(stream.status()).toBe("lost")
    expect(sources.opened[0]!.closed).toBe(true)
    expect(timers.delays().map(Math.round)).toEqual([500])
  })

  it("retries when no ticket can be had, but stops for good on a 401", async () => {
    let answer: () => Promise<string> = () => Promise.reject(new ApiError({ status: 0, message: "cannot reach the balancer" }))
    const { stream, timers, sources } = scriptedStream(() => answer())
    stream.start()
    await tick()
    expect(stream.status()).toBe("lost")
    expect(timers.delays().map(Math.round)).toEqual([500])
    answer = () => Promise.reject(new ApiError({ status: 401, message: "missing or invalid X-Admin-Token" }))
    timers.fire(timers.delays()[0]!)
    await tick()
    expect(timers.delays()).toEqual([])
    expect(sources.opened).toEqual([])
  })

  it("stop closes the source and cancels the pending retry", async () => {
    const { stream, sources, timers } = scriptedStream()
    stream.start()
    await tick()
    sources.error()
    expect(timers.delays().length).toBe(1)
    stream.stop()
    expect(timers.delays()).toEqual([])
    expect(sources.opened[0]!.closed).toBe(true)
  })
})

const ADMIN_TOKEN = "web-events-token-0123456789"

describe("event stream against the built balancer", () => {
  it.scopedLive("reconnects by itself with growing waits after the balancer goes away, and resumes the states", () =>
    Effect.gen(function*() {
      const port = String(yield* Effect.promise(() => freePort()))
      const env = { LB_PORT: port, LB_DB_PATH: join(mkdtempSync(join(tmpdir(), "web-events-")), "lb.db"), LB_ADMIN_TOKEN: ADMIN_TOKEN }
      const first = yield* spawnBalancer(env)
      // Real timers, recording each wait the stream asks for.
      const waits: Array<number> = []
      const timers: Timers = {
        setTimeout: (callback, ms) => {
          if (ms !== 30_000) waits.push(ms)
          return setTimeout(callback, ms)
        },
        clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout)
      }
      const session = createAdminSession(first.url, {
        storage: memoryStorage({ [TOKEN_STORAGE_KEY]: ADMIN_TOKEN }),
        EventSource: NodeEventSource,
        timers,
        backoff: { baseMs: 100, maxMs: 800, random: () => 0.999999 },
        silenceMs: 30_000
      })
      const versions: Array<string> = []
      const unsubscribe = session.events.subscribe((state) => versions.push(state.version))
      yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))
      yield* Effect.promise(() => waitFor("the first state", () => versions.length > 0))
      expect(session.events.status()).toBe("open")

      first.child.kill("SIGKILL")
      yield* Effect.promise(() => first.exited)
      yield* Effect.promise(() => waitFor("the drop", () => session.events.status() === "lost"))
      // Let it fail a few times while nothing listens on the port.
      yield* Effect.promise(() => waitFor("four retries", () => waits.length >= 4, 15_000))
      expect(waits.slice(0, 4).map(Math.round)).toEqual([100, 200, 400, 800])

      const received = versions.length
      yield* spawnBalancer(env)
      yield* Effect.promise(() => waitFor("states again", () => versions.length > received && session.events.status() === "open", 15_000))
      expect(session.events.attempts()).toBe(0)
      expect(session.token()).toBe(ADMIN_TOKEN)
    }))

  it.scopedLive("a 401 on the ticket signs out and stops the stream", () =>
    Effect.gen(function*() {
      const lb = yield* spawnBalancer({ LB_DB_PATH: join(mkdtempSync(join(tmpdir(), "web-events-")), "lb.db"), LB_ADMIN_TOKEN: ADMIN_TOKEN })
      const session = createAdminSession(lb.url, {
        storage: memoryStorage({ [TOKEN_STORAGE_KEY]: "not-the-admin-token-0123" }),
        EventSource: NodeEventSource
      })
      session.events.subscribe(() => {})
      yield* Effect.promise(() => waitFor("the sign-out", () => session.token() === null))
      expect(session.events.attempts()).toBe(0)
      expect(session.events.status()).not.toBe("open")
    }))
})
