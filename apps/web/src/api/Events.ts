/**
 * The live admin state from GET /admin/api/events (server-sent events; each `data:` is the JSON of
 * GET /admin/api/state, pushed every second and right after each change).
 *
 * A browser's EventSource cannot send X-Admin-Token, so each connection first trades the token for a
 * single-use ticket (POST /admin/api/events/ticket) and opens `?ticket=`. EventSource's own retry
 * would reuse a spent ticket, so on any error the stream closes it and reconnects by itself: a new
 * ticket after an exponential backoff (capped, with jitter, reset once data flows again). A stream
 * that goes silent (the server pushes every second) counts as dropped too. `status` is "connecting"
 * until the first connection opens, "open" while connected, "lost" from a drop until the next open.
 */
import type { State } from "@llmlb/api"
import { type Accessor, createSignal } from "solid-js"

export type EventStatus = "connecting" | "open" | "lost"

/** What the stream needs of EventSource (the browser's, or a test's). */
export interface EventSourceLike {
  onopen: ((event: Event) => void) | null
  onmessage: ((event: MessageEvent<string>) => void) | null
  onerror: ((event: Event) => void) | null
  close(): void
}

export type EventSourceConstructor = new (url: string) => EventSourceLike

export interface Timers {
  readonly setTimeout: (callback: () => void, ms: number) => unknown
  readonly clearTimeout: (handle: unknown) => void
}

export interface BackoffOptions {
  /** The first retry waits about this long. */
  readonly baseMs: number
  /** No retry waits longer. */
  readonly maxMs: number
  /** Uniform in [0, 1). */
  readonly random: () => number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000, random: Math.random }

/**
 * The wait before retry number `attempt` (0-based): base x 2^attempt capped at max, of which a random
 * half is dropped ("equal jitter"), so that many editors do not reconnect in lockstep after a restart.
 */
export const backoffDelay = (attempt: number, options: BackoffOptions): number => {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** attempt)
  return ceiling / 2 + options.random() * (ceiling / 2)
}

export interface EventStreamOptions {
  /** A fresh single-use ticket; rejects when none can be had (the caller signs out on a 401). */
  readonly ticket: () => Promise<string>
  /** The stream's URL for a ticket. */
  readonly url: (ticket: string) => string
  /** Whether to keep trying after `ticket` rejected with this error (false: stop, e.g. signed out). */
  readonly retryAfter: (error: unknown) => boolean
  readonly EventSource: EventSourceConstructor
  readonly timers?: Timers
  readonly backoff?: BackoffOptions
  /** No event for this long = a dead connection. */
  readonly silenceMs?: number
}

export interface EventStream {
  readonly status: Accessor<EventStatus>
  /** Calls `listener` with every state; returns the unsubscribe function. */
  readonly subscribe: (listener: (state: State) => void) => () => void
  /** Connects if not connected yet (idempotent). */
  readonly start: () => void
  /** Closes the connection and cancels retries. */
  readonly stop: () => void
  /** Retries so far since data last flowed (for display and tests). */
  readonly attempts: () => number
}

export const createEventStream = (options: EventStreamOptions): EventStream => {
  const timers = options.timers ?? { setTimeout: globalThis.setTimeout.bind(globalThis), clearTimeout: (h) => globalThis.clearTimeout(h as number) }
  const backoff = options.backoff ?? DEFAULT_BACKOFF
  const silenceMs = options.silenceMs ?? 10_000
  const [status, setStatus] = createSignal<EventStatus>("connecting")
  const listeners = new Set<(state: State) => void>()

  let running = false
  /** Increases with every connection, so that callbacks of an abandoned one do nothing. */
  let generation = 0
  let source: EventSourceLike | null = null
  let retryTimer: unknown = null
  let silenceTimer: unknown = null
  let attempts = 0

  const clearTimer = (timer: unknown) => {
    if (timer !== null) timers.clearTimeout(timer)
  }

  const closeSource = () => {
    clearTimer(silenceTimer)
    silenceTimer = null
    if (source !== null) {
      source.onopen = source.onmessage = source.onerror = null
      source.close()
      source = null
    }
  }

  const dropped = () => {
    closeSource()
    if (!running) return
    setStatus("lost")
    clearTimer(retryTimer)
    const delay = backoffDelay(attempts, backoff)
    attempts += 1
    const mine = ++generation
    retryTimer = timers.setTimeout(() => {
      retryTimer = null
      if (mine === generation) connect()
    }, delay)
  }

  const armSilence = (mine: number) => {
    clearTimer(silenceTimer)
    silenceTimer = timers.setTimeout(() => mine === generation && dropped(), silenceMs)
  }

  const connect = () => {
    const mine = ++generation
    options.ticket().then(
      (ticket) => {
        if (mine !== generation || !running) return
        const opened = new options.EventSource(options.url(ticket))
        source = opened
        armSilence(mine)
        opened.onopen = () => {
          if (mine === generation) setStatus("open")
        }
        opened.onmessage = (event) => {
          if (mine !== generation) return
          attempts = 0
          setStatus("open")
          armSilence(mine)
          const state = JSON.parse(event.data) as State
          for (const listener of listeners) listener(state)
        }
        opened.onerror = () => {
          if (mine === generation) dropped()
        }
      },
      (error: unknown) => {
        if (mine !== generation) return
        if (options.retryAfter(error)) dropped()
        else stop()
      }
    )
  }

  const start = () => {
    if (running) return
    running = true
    attempts = 0
    setStatus("connecting")
    connect()
  }

  const stop = () => {
    running = false
    generation += 1
    clearTimer(retryTimer)
    retryTimer = null
    closeSource()
  }

  return {
    status,
    subscribe: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    start,
    stop,
    attempts: () => attempts
  }
}
