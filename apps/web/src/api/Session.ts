/**
 * The editor's connection to the balancer's admin API: the typed `HttpApiClient` of `AdminApi` (no
 * hand-written fetch wrappers), the admin token (kept in sessionStorage, sent as X-Admin-Token), and
 * the live event stream. A 401 from any call, the event ticket included, signs out: the page then
 * shows the sign-in form again.
 */
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { AdminApi } from "@llmlb/api"
import { Effect, Exit, Cause, Layer } from "effect"
import { type Accessor, createSignal } from "solid-js"
import { ApiError, toApiError } from "./ApiError.js"
import { type BackoffOptions, createEventStream, type EventSourceConstructor, type EventStatus, type Timers } from "./Events.js"
import type { State } from "@llmlb/api"

export const TOKEN_STORAGE_KEY = "llmlb.adminToken"

type TokenStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">

/** What the browser provides; tests inject their own. */
export interface AdminSessionOptions {
  readonly fetch?: typeof globalThis.fetch
  readonly EventSource?: EventSourceConstructor
  readonly storage?: TokenStorage
  readonly timers?: Timers
  readonly backoff?: BackoffOptions
  readonly silenceMs?: number
}

const makeClient = (baseUrl: string, token: () => string | null, fetchImpl: typeof globalThis.fetch | undefined) => {
  const http = fetchImpl === undefined
    ? FetchHttpClient.layer
    : FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, fetchImpl)))
  return Effect.runSync(
    HttpApiClient.make(AdminApi, {
      baseUrl,
      // Read per request, so that one client serves every token the session holds.
      transformClient: HttpClient.mapRequest((request) => {
        const current = token()
        return current === null ? request : HttpClientRequest.setHeader(request, "x-admin-token", current)
      })
    }).pipe(Effect.provide(http))
  )
}

export type AdminClient = ReturnType<typeof makeClient>

export interface AdminSession {
  /** The typed admin API client; run its calls with `call`. */
  readonly client: AdminClient
  /** Runs a client call: resolves with its value, rejects with an ApiError (a 401 also signs out). */
  readonly call: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  /** The admin token, null when signed out. */
  readonly token: Accessor<string | null>
  /** Checks the token with GET /admin/api/state; keeps it when it works, else rejects with the server's ApiError. */
  readonly signIn: (token: string) => Promise<State>
  readonly signOut: () => void
  readonly events: {
    readonly status: Accessor<EventStatus>
    /** Receives every pushed state while signed in; connects on the first subscriber. Returns the unsubscribe. */
    readonly subscribe: (listener: (state: State) => void) => () => void
    readonly attempts: () => number
  }
}

const readToken = (storage: TokenStorage | undefined) => {
  try {
    const stored = storage?.getItem(TOKEN_STORAGE_KEY) ?? null
    return stored === "" ? null : stored
  } catch {
    return null
  }
}

/** Runs an effect, turning every failure (and defect) into an ApiError. */
const runToPromise = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) =>
    Exit.isSuccess(exit)
      ? exit.value
      : Effect.runPromise(toApiError(Cause.squash(exit.cause))).then((error) => Promise.reject(error))
  )

export const createAdminSession = (baseUrl = "", options: AdminSessionOptions = {}): AdminSession => {
  const storage = options.storage ?? globalThis.sessionStorage
  const [token, setToken] = createSignal<string | null>(readToken(storage))
  const client = makeClient(baseUrl, token, options.fetch)

  const signOut = () => {
    stream.stop()
    setToken(null)
    try {
      storage?.removeItem(TOKEN_STORAGE_KEY)
    } catch {
      // nothing stored
    }
  }

  const call = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
    runToPromise(effect).catch((error: ApiError) => {
      if (error.status === 401) signOut()
      throw error
    })

  const stream = createEventStream({
    ticket: () => call(client.events.ticket()).then((answer) => answer.ticket),
    url: (ticket) => `${baseUrl}/admin/api/events?ticket=${encodeURIComponent(ticket)}`,
    retryAfter: (error) => !(error instanceof ApiError && error.status === 401),
    EventSource: options.EventSource ?? globalThis.EventSource,
    ...(options.timers === undefined ? {} : { timers: options.timers }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    ...(options.silenceMs === undefined ? {} : { silenceMs: options.silenceMs })
  })
  let subscribers = 0

  const signIn = async (candidate: string) => {
    const trimmed = candidate.trim()
    if (trimmed === "") throw new ApiError({ status: 401, message: "enter the admin token", field: "token" })
    // A client of its own: the session's token stays as it is until this one has proven itself.
    const state = await runToPromise(makeClient(baseUrl, () => trimmed, options.fetch).state.get())
    try {
      storage?.setItem(TOKEN_STORAGE_KEY, trimmed)
    } catch {
      // kept for this page only
    }
    setToken(trimmed)
    if (subscribers > 0) stream.start()
    return state
  }

  return {
    client,
    call,
    token,
    signIn,
    signOut,
    events: {
      status: stream.status,
      attempts: stream.attempts,
      subscribe: (listener) => {
        const unsubscribe = stream.subscribe(listener)
        subscribers += 1
        if (token() !== null) stream.start()
        let active = true
        return () => {
          if (!active) return
          active = false
          unsubscribe()
          subscribers -= 1
          if (subscribers === 0) stream.stop()
        }
      }
    }
  }
}
