/**
 * One attempt of a request on one endpoint. The client's response is committed when the upstream's
 * first body chunk arrives; until then a failure leaves the client untouched, so the caller can try
 * another endpoint. Streams flow chunk by chunk, never buffered whole. A client that goes away aborts
 * the upstream request at once.
 */
import type { Endpoint } from "@llmlb/core"
import { type Span, SpanKind } from "@opentelemetry/api"
import { OpenAi } from "@llmlb/core"
import { Effect } from "effect"
import type { EventEmitter } from "node:events"
import type { ServerResponse } from "node:http"
import { performance } from "node:perf_hooks"
import { LbConfig } from "../Config.js"
import { type FailureReason, Metrics } from "../observability/Metrics.js"
import { Stats, type Usage } from "../observability/Stats.js"
import { childSpan, endSpan, traceparentOf, Tracing, type TracingShape } from "../observability/Tracing.js"
import { type Lookup, ResponseCache } from "../protection/ResponseCache.js"
import type { Verdict } from "../routing/RoutingEngine.js"
import { type UpstreamTarget, Upstreams } from "../upstream/Upstreams.js"
import { answerUsage } from "./AnswerUsage.js"
import { answerHead } from "./Head.js"
import * as Respond from "./Respond.js"
import { StreamTap } from "./StreamTap.js"

export interface RelayRequest {
  /** The request's X-Request-ID, sent upstream and back to the client. */
  readonly requestId: string
  readonly res: ServerResponse
  /** The route appended to the endpoint's base URL, e.g. `/chat/completions`. */
  readonly path: string
  readonly body: Buffer | string
  readonly stream: boolean
  /** The balancer added include_usage: remove the usage chunk from what the client gets. */
  readonly filterUsage: boolean
  /** Prompt tokens estimated from the request, used when the upstream reports no usage. */
  readonly promptEstimate: number
  /** performance.now() when the request reached the balancer. */
  readonly startedAt: number
  /**
   * Milliseconds not spent in the balancer itself: reading the client's body, waiting in the queue,
   * earlier failed attempts upstream. Overhead is the rest.
   */
  excludedMs: number
  /** The request's trace span, when tracing is on. */
  readonly span: Span | undefined
  /** The response cache's verdict (X-LB-Cache), and where to store a successful answer on a miss. */
  readonly cache: Lookup | undefined
  /** Called once per attempt at a stream's first token with the time since dispatch (routing mode load). */
  onFirstToken: ((upstreamMs: number) => void) | undefined
}


/** Why an attempt failed before anything was sent to the client. */
export type Failure =
  | {
    readonly kind: "status"
    readonly endpoint: Endpoint.EndpointRecord
    readonly status: number
    /** The upstream's error as a JSON body (wrapped in OpenAI's shape when it was not JSON). */
    readonly body: Buffer | string
    readonly retryAfter: string | undefined
  }
  | { readonly kind: "unreachable"; readonly endpoint: Endpoint.EndpointRecord; readonly message: string }
  | { readonly kind: "timeout"; readonly endpoint: Endpoint.EndpointRecord; readonly message: string }

export type Attempt =
  /** The client has its answer (or the stream's end); the verdict is for routing and cooldown. */
  | { readonly kind: "answered"; readonly verdict: Verdict; readonly status: number; readonly usage?: Usage }
  /** Nothing reached the client: another endpoint may be tried. */
  | { readonly kind: "failed"; readonly failure: Failure; readonly verdict: Verdict }
  /** The client went away; a stream it started used `usage` so far. */
  | { readonly kind: "client-gone"; readonly usage?: Usage }

/** The status label of an attempt whose client went away (nginx's convention). */
const CLIENT_CLOSED = "499"

/** Upstream error bodies are kept up to this size. */
const MAX_ERROR_BODY = 64 * 1024

/** A header value for the endpoint's name: names are free text, header values are Latin-1 at most. */
export const endpointLabel = (name: string) => (/^[\x20-\x7e]*$/.test(name) ? name : encodeURIComponent(name))

/** Milliseconds as X-LB-Overhead-Ms writes them: to the microsecond. */
export const formatMs = (ms: number) => String(Math.round(ms * 1000) / 1000)

/** Retry-After in milliseconds: delta-seconds or an HTTP date; 0 when absent or unreadable. */
export const retryAfterMs = (value: string | undefined): number => {
  if (value === undefined) return 0
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now())
}

const waitDrain = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done)
      res.off("close", done)
      resolve()
    }
    res.on("drain", done)
    res.on("close", done)
  })

const errorCode = (error: unknown): string | undefined => (error as { code?: string } | null)?.code

/** Completion tokens of a whole (non-streamed) response, estimated from its text. */
const estimateCompletion = (json: any): number => {
  let text = ""
  for (const choice of Array.isArray(json?.choices) ? json.choices : []) {
    text += typeof choice?.message?.content === "string" ? choice.message.content : ""
    text += typeof choice?.text === "string" ? choice.text : ""
  }
  return OpenAi.estimateTokens(text)
}

const readCapped = async (body: AsyncIterable<unknown>): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  let size = 0
  for await (const chunk of body) {
    if (size < MAX_ERROR_BODY) {
      chunks.push(chunk as Buffer)
      size += (chunk as Buffer).length
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY)
}

const parseJson = (buffer: Buffer): any => {
  try {
    return JSON.parse(buffer.toString("utf8"))
  } catch {
    return undefined
  }
}

/** A whole answer's usage: read from its bytes, else (none given) parsed and estimated from its text. */
const wholeUsage = (buffer: Buffer, promptEstimate: number): Usage => {
  const read = answerUsage(buffer)
  if (read !== undefined) return { ...read, estimated: false }
  const json = parseJson(buffer)
  const counted = OpenAi.usageCounts(json)
  return counted === undefined
    ? { promptTokens: promptEstimate, completionTokens: estimateCompletion(json), estimated: true }
    : { ...counted, estimated: false }
}

/** 5xx and 429 say the endpoint is in trouble: another may answer. Other statuses are the answer. */
export const isRetryableStatus = (status: number) => status >= 500 || status === 429

/** What every attempt uses: the Relay service's parts, made once. */
interface RelayParts {
  readonly config: LbConfig
  readonly upstreams: Upstreams
  readonly stats: Stats
  readonly metrics: Metrics
  readonly cache: ResponseCache
  readonly tracing: TracingShape
}

/** The whole-answer timer: set aside from the attempt so that arming it makes no closure. */
const timeOut = (exchange: Exchange) => {
  exchange.timedOut = true
  exchange.abort()
}

/**
 * One attempt of a request on an endpoint: its state in fields and its steps as methods, one object per
 * attempt instead of a closure per step. It is also the signal undici watches for an abort: undici takes an
 * EventEmitter as one, reading `aborted` and listening with `once` and `removeListener` (api-request.js,
 * util.addAbortListener), which this offers for its one listener without an emitter's or an
 * AbortController's objects per attempt.
 */
class Exchange {
  aborted = false
  private abortListener: (() => void) | undefined = undefined
  clientGone = false
  timedOut = false
  /** Set once a stream is being relayed: what it used so far, should it not finish. */
  tap: StreamTap | undefined = undefined
  /** The balancer's own time: before dispatch, and from the upstream's data to the commit. */
  overheadMs = 0
  dispatchedAt = 0
  readonly timeoutMs: number
  readonly target: UpstreamTarget
  readonly span: Span | undefined
  /** The client went away before its answer was whole: the upstream request is aborted at once. */
  readonly onClose = () => {
    if (!this.request.res.writableFinished) {
      this.clientGone = true
      this.abort()
    }
  }

  constructor(
    readonly parts: RelayParts,
    readonly request: RelayRequest,
    readonly endpoint: Endpoint.EndpointRecord
  ) {
    this.target = parts.upstreams.targetOf(endpoint)
    this.timeoutMs = (endpoint.timeout ?? parts.config.defaultTimeoutSeconds) * 1000
    const tracer = parts.tracing.tracer
    this.span = tracer !== undefined && request.span !== undefined
      ? childSpan(tracer, request.span, `upstream ${endpoint.name}`, SpanKind.CLIENT)
      : undefined
  }

  on(_event: "abort", listener: () => void) {
    this.abortListener = listener
    return this
  }

  once(event: "abort", listener: () => void) {
    return this.on(event, listener)
  }

  removeListener(_event: "abort", listener: () => void) {
    if (this.abortListener === listener) this.abortListener = undefined
    return this
  }

  /** Aborts the upstream request (once): undici fails it, or destroys the body being read. */
  abort() {
    if (this.aborted) return
    this.aborted = true
    const listener = this.abortListener
    this.abortListener = undefined
    listener?.()
  }

  /** Headers for `writeHead` at the commit; counts the time since the upstream's data as the balancer's. */
  commitHead(dataAt: number, contentType: string | undefined) {
    this.overheadMs += performance.now() - dataAt
    const { request } = this
    const head = answerHead(request.requestId, contentType ?? "application/json", endpointLabel(this.endpoint.name), formatMs(this.overheadMs))
    if (request.cache !== undefined) head.push("x-lb-cache", request.cache.status)
    return head
  }

  seconds() {
    return (performance.now() - this.request.startedAt) / 1000
  }

  partialUsage(): Usage | undefined {
    const tap = this.tap
    if (tap === undefined) return undefined
    return tap.usage === undefined
      ? { promptTokens: this.request.promptEstimate, completionTokens: tap.contentChunks, estimated: true }
      : { ...tap.usage, estimated: false }
  }

  /** Records a failed attempt everywhere it counts. */
  failed(status: string, reason: FailureReason, message: string) {
    const { metrics, stats } = this.parts
    stats.recordFailure(this.endpoint.id)
    metrics.attempt(this.endpoint, status)
    metrics.failure(this.endpoint, reason)
    this.request.excludedMs += performance.now() - this.dispatchedAt
    if (this.span !== undefined) endSpan(this.span, message)
  }

  /** Records an answered attempt everywhere it counts. */
  succeeded(status: number, usage: Usage, ttft: number | undefined): Attempt {
    const { metrics, stats } = this.parts
    const seconds = this.seconds()
    stats.recordSuccess(this.endpoint.id, usage, seconds)
    metrics.attempt(this.endpoint, String(status))
    metrics.completed(this.endpoint, this.request.stream, seconds, ttft, this.overheadMs / 1000)
    if (this.span !== undefined) {
      this.span.setAttribute("http.response.status_code", status)
      endSpan(this.span)
    }
    return { kind: "answered", verdict: { kind: "success", tokens: OpenAi.totalTokens(usage) }, status, usage }
  }

  /** The client went away: what was generated for it still counts as tokens. */
  gone(): Attempt {
    const usage = this.partialUsage()
    if (usage !== undefined) this.parts.stats.recordPartial(this.endpoint.id, usage)
    this.parts.metrics.attempt(this.endpoint, CLIENT_CLOSED)
    if (this.span !== undefined) endSpan(this.span, "client closed the request")
    return usage === undefined ? { kind: "client-gone" } : { kind: "client-gone", usage }
  }

  /** The headers sent upstream, as undici's flat name, value list. */
  upstreamHeaders() {
    const headers = ["content-type", "application/json", "x-request-id", this.request.requestId]
    if (this.target.authorization !== undefined) headers.push("authorization", this.target.authorization)
    if (this.span !== undefined) {
      this.span.setAttributes({ "lb.endpoint": this.endpoint.name, "server.address": this.target.origin })
      if (this.parts.tracing.propagate) headers.push("traceparent", traceparentOf(this.span))
    }
    return headers
  }

  async run(): Promise<Attempt> {
    const { endpoint, request, target, timeoutMs } = this
    const { res } = request
    res.on("close", this.onClose)
    const headers = this.upstreamHeaders()
    this.dispatchedAt = performance.now()
    this.overheadMs = this.dispatchedAt - request.startedAt - request.excludedMs
    // A non-streaming answer is bounded as a whole, from dispatch to its last byte.
    const wholeTimer = request.stream ? undefined : setTimeout(timeOut, timeoutMs, this)
    const pool = target.pools.acquire()
    try {
      const upstream = await pool.request({
        path: target.basePath + request.path,
        method: "POST",
        headers,
        body: request.body,
        signal: this as unknown as EventEmitter, // the part of an emitter undici uses, see the class
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs
      })
      const contentType = upstream.headers["content-type"] as string | undefined

      if (upstream.statusCode < 200 || upstream.statusCode >= 300) {
        const error = Respond.upstreamErrorBody(endpoint.name, upstream.statusCode, await readCapped(upstream.body))
        const retryAfter = upstream.headers["retry-after"] as string | undefined
        if (isRetryableStatus(upstream.statusCode)) {
          this.failed(String(upstream.statusCode), upstream.statusCode === 429 ? "status_429" : "status_5xx", `status ${upstream.statusCode}`)
          return {
            kind: "failed",
            failure: { kind: "status", endpoint, status: upstream.statusCode, body: error, retryAfter },
            verdict: { kind: "failure", retryAfterMs: retryAfterMs(retryAfter), tokens: 0 }
          }
        }
        // The client's own mistake (400, 404 ...): the upstream's answer is the answer.
        res.writeHead(upstream.statusCode, this.commitHead(performance.now(), "application/json"))
        res.end(error)
        this.parts.metrics.attempt(endpoint, String(upstream.statusCode))
        if (this.span !== undefined) endSpan(this.span)
        return { kind: "answered", verdict: { kind: "neutral", tokens: 0 }, status: upstream.statusCode }
      }

      if (request.stream && contentType?.includes("text/event-stream")) {
        const tap = this.tap = new StreamTap(request.filterUsage)
        let ttft: number | undefined
        let committed = false
        for await (const chunk of upstream.body) {
          if (!committed) {
            const head = this.commitHead(performance.now(), contentType)
            head.push("cache-control", "no-cache", "x-accel-buffering", "no")
            res.writeHead(upstream.statusCode, head)
            committed = true
          }
          const out = tap.push(chunk as Buffer)
          if (ttft === undefined && tap.contentChunks > 0) {
            ttft = this.seconds()
            request.onFirstToken?.(performance.now() - this.dispatchedAt)
          }
          if (out.length > 0 && !res.write(out)) await waitDrain(res)
          if (this.clientGone) return this.gone()
        }
        if (!committed) res.writeHead(upstream.statusCode, this.commitHead(performance.now(), contentType))
        res.end()
        return this.succeeded(upstream.statusCode, this.partialUsage()!, ttft)
      }

      // A whole response: read it, take its usage, send it.
      const chunks: Array<Buffer> = []
      for await (const chunk of upstream.body) chunks.push(chunk as Buffer)
      const dataAt = performance.now()
      const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      const usage = wholeUsage(buffer, request.promptEstimate)
      const head = this.commitHead(dataAt, contentType)
      head.push("content-length", buffer.length)
      res.writeHead(upstream.statusCode, head)
      res.end(buffer)
      if (request.cache?.status === "MISS") {
        this.parts.cache.store(request.cache.key, { status: upstream.statusCode, contentType: contentType ?? "application/json", body: buffer })
      }
      return this.succeeded(upstream.statusCode, usage, undefined)
    } catch (error) {
      if (this.clientGone) return this.gone()
      const code = errorCode(error)
      const timeout = this.timedOut || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT"
      const message = timeout
        ? `Endpoint ${endpoint.name} timed out after ${timeoutMs / 1000} s`
        : `Endpoint ${endpoint.name} failed: ${(error as Error)?.message ?? String(error)}`
      const broken = res.headersSent
      this.failed(timeout ? "timeout" : "error", broken ? "stream_broken" : timeout ? "timeout" : "unreachable", message)
      if (broken) {
        // Mid-stream: the status is gone already; end the stream with an error event the SDKs surface.
        const usage = this.partialUsage()
        if (usage !== undefined) this.parts.stats.recordPartial(endpoint.id, usage)
        const body = { error: { message, type: "api_error", param: null, code: timeout ? "upstream_timeout" : "upstream_error" } }
        res.end(`data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`)
        return { kind: "answered", verdict: { kind: "failure", retryAfterMs: 0, tokens: OpenAi.totalTokens(usage) }, status: 200 }
      }
      return {
        kind: "failed",
        failure: { kind: timeout ? "timeout" : "unreachable", endpoint, message },
        verdict: { kind: "failure", retryAfterMs: 0, tokens: 0 }
      }
    } finally {
      target.pools.release(pool)
      clearTimeout(wholeTimer)
      res.off("close", this.onClose)
    }
  }
}

export class Relay extends Effect.Service<Relay>()("Relay", {
  effect: Effect.gen(function*() {
    const parts: RelayParts = {
      config: yield* LbConfig,
      upstreams: yield* Upstreams,
      stats: yield* Stats,
      metrics: yield* Metrics,
      cache: yield* ResponseCache,
      tracing: yield* Tracing
    }
    const attempt = (request: RelayRequest, endpoint: Endpoint.EndpointRecord): Promise<Attempt> =>
      new Exchange(parts, request, endpoint).run()
    return { attempt } as const
  })
}) {}
