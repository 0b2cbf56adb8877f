/**
 * The producer page's connection to its server: the typed `HttpApiClient` of `ProducerApi`, LP_TOKEN
 * (asked once, kept in localStorage, sent as `Authorization: Bearer`), and the live WebSocket `/api/live`
 * (a single-use ticket in the URL when a token is needed; reconnects with backoff).
 */
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Producer } from "@llmlb/api"
import { Cause, Effect, Exit } from "effect"
import { type Accessor, createSignal } from "solid-js"
import { type ApiError, toApiError } from "../api/ApiError.js"

export const PRODUCER_TOKEN_KEY = "llmlb.producerToken"

const makeClient = (token: () => string | null) =>
  Effect.runSync(
    HttpApiClient.make(Producer.ProducerApi, {
      baseUrl: "",
      transformClient: HttpClient.mapRequest((request) => {
        const current = token()
        return current === null ? request : HttpClientRequest.bearerToken(request, current)
      })
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )

export type ProducerClient = ReturnType<typeof makeClient>

export type LiveStatus = "connecting" | "open" | "closed"

export interface ProducerSession {
  readonly client: ProducerClient
  /** Runs a client call; rejects with an ApiError (status 0: the server could not be reached). */
  readonly call: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  readonly token: Accessor<string | null>
  readonly setToken: (token: string) => void
  /** True after a 401: the page asks for LP_TOKEN. */
  readonly needsToken: Accessor<boolean>
  /** Headers for a plain fetch (downloads). */
  readonly headers: () => Record<string, string>
  readonly live: {
    readonly status: Accessor<LiveStatus>
    readonly connect: (onMessage: (message: Producer.LiveMessage) => void) => void
  }
}

const readToken = (): string | null => {
  try {
    return localStorage.getItem(PRODUCER_TOKEN_KEY) || null
  } catch {
    return null
  }
}

export const createProducerSession = (): ProducerSession => {
  const [token, setTokenSignal] = createSignal<string | null>(readToken())
  const [needsToken, setNeedsToken] = createSignal(false)
  const [liveStatus, setLiveStatus] = createSignal<LiveStatus>("closed")
  const client = makeClient(token)

  const call = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
    Effect.runPromiseExit(effect).then(async (exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      const error: ApiError = await Effect.runPromise(toApiError(Cause.squash(exit.cause)))
      if (error.status === 401) setNeedsToken(true)
      throw error
    })

  let onMessage: ((message: Producer.LiveMessage) => void) | null = null
  let attempts = 0
  let socket: WebSocket | null = null

  const open = async () => {
    if (onMessage === null) return
    // Refused without the token: wait for it (setToken reconnects) rather than knock again and again.
    if (needsToken() && token() === null) return setLiveStatus("closed")
    setLiveStatus("connecting")
    let query = ""
    try {
      if (token() !== null) query = `?ticket=${encodeURIComponent((await call(client.runs.ticket())).ticket)}`
    } catch {
      return retry()
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws"
    const ws = new WebSocket(`${scheme}://${location.host}/api/live${query}`)
    socket = ws
    ws.onopen = () => {
      attempts = 0
      setLiveStatus("open")
    }
    ws.onmessage = (event) => onMessage?.(JSON.parse(String(event.data)) as Producer.LiveMessage)
    ws.onclose = () => {
      if (socket === ws) retry()
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined
  const retry = () => {
    setLiveStatus("closed")
    attempts += 1
    timer = setTimeout(() => void open(), Math.min(10_000, 500 * 2 ** Math.min(attempts, 5)))
  }

  /** At once, with the current token (a new token must not wait out the backoff of the refused ones). */
  const reconnect = () => {
    clearTimeout(timer)
    const old = socket
    socket = null
    old?.close()
    attempts = 0
    void open()
  }

  return {
    client,
    call,
    token,
    needsToken,
    setToken: (value) => {
      const trimmed = value.trim()
      try {
        localStorage.setItem(PRODUCER_TOKEN_KEY, trimmed)
      } catch {
        // kept for this page only
      }
      setTokenSignal(trimmed === "" ? null : trimmed)
      setNeedsToken(false)
      if (onMessage !== null) reconnect()
    },
    headers: () => {
      const current = token()
      return current === null ? {} : { authorization: `Bearer ${current}` }
    },
    live: {
      status: liveStatus,
      /** Once: later calls only replace the listener. */
      connect: (listener) => {
        const first = onMessage === null
        onMessage = listener
        if (first) void open()
      }
    }
  }
}
