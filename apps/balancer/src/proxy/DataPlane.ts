/**
 * The /v1 data plane: a plain Node request handler, built once by this layer from the Effect services
 * (see DESIGN.md, "Data plane and control plane"). Per request: one body parse, synchronous routing
 * and stats, an undici request upstream, the response relayed chunk by chunk. No fiber, no Schema
 * decode, no SQL.
 */
import { JsonProblem, OpenAi } from "@llmlb/core"
import { type Span, SpanKind } from "@opentelemetry/api"
import { Effect } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { performance } from "node:perf_hooks"
import { LbConfig } from "../Config.js"
import { Metrics } from "../observability/Metrics.js"
import { childSpan, endSpan, parentContext, Tracing } from "../observability/Tracing.js"
import { type Client, ClientAuth } from "../protection/ClientAuth.js"
import { LimitRefusal } from "../protection/ClientLimits.js"
import { ResponseCache } from "../protection/ResponseCache.js"
import { ModelCatalog } from "../routing/ModelCatalog.js"
import { chainOf } from "../routing/PrefixHash.js"
import { type Lease, type Queued, type Refusal, RoutingEngine } from "../routing/RoutingEngine.js"
import { type BlockView, Topology } from "../store/Topology.js"
import { Lifecycle } from "../Lifecycle.js"
import { parseRequestBody, readBody, tokenEstimate, withUsageRequested } from "./Body.js"
import { presetHead } from "./Head.js"
import { RequestIds } from "./RequestId.js"
import * as Respond from "./Respond.js"
import { endpointLabel, type Failure, formatMs, Relay, type RelayRequest } from "./Relay.js"

type Operation = "chat/completions" | "completions" | "embeddings" | "models"

interface Route {
  readonly operation: Operation
  /** The `{pool_name}` of `/v1/{pool_name}/...`, if any. */
  readonly pool: string | undefined
}

const operations: Record<string, Operation> = {
  "chat/completions": "chat/completions",
  completions: "completions",
  embeddings: "embeddings",
  models: "models"
}

/** `/v1/<operation>` or `/v1/<pool>/<operation>`; undefined for anything else. */
export const parseRoute = (path: string): Route | undefined => {
  const rest = path.slice(4) // after "/v1/"
  const direct = operations[rest]
  if (direct !== undefined) return { operation: direct, pool: undefined }
  const slash = rest.indexOf("/")
  if (slash <= 0) return undefined
  const operation = operations[rest.slice(slash + 1)]
  return operation === undefined ? undefined : { operation, pool: rest.slice(0, slash) }
}

const headerOf = (req: IncomingMessage, name: string) => {
  const value = req.headers[name]
  return Array.isArray(value) ? value.join(",") : value
}

/** The request's X-Request-ID: `dispatch` puts the one it answers with into the request's headers. */
const idOf = (req: IncomingMessage) => req.headers["x-request-id"] as string

/** The balancer's own time so far: all of it but what `excludedMs` says was spent elsewhere. */
const overheadMs = (startedAt: number, excludedMs: number) => formatMs(performance.now() - startedAt - excludedMs)

/** What the client gets when no attempt produced an answer. */
const sendFailure = (res: ServerResponse, failure: Failure, overhead: string) => {
  const headers = { "x-lb-endpoint": endpointLabel(failure.endpoint.name), "x-lb-overhead-ms": overhead }
  switch (failure.kind) {
    case "status": {
      // The last upstream's own answer (429 keeps its Retry-After).
      res.writeHead(failure.status, {
        ...headers,
        "content-type": "application/json",
        ...(failure.retryAfter === undefined ? {} : { "retry-after": failure.retryAfter })
      })
      return res.end(failure.body)
    }
    case "timeout":
      return Respond.sendError(res, 504, "api_error", "upstream_timeout", failure.message, { headers })
    case "unreachable":
      return Respond.sendError(res, 502, "api_error", "upstream_error", failure.message, { headers })
  }
}

const sendRefusal = (res: ServerResponse, refusal: Refusal, model: string) => {
  switch (refusal.kind) {
    case "no-endpoint":
    case "exhausted":
      return Respond.noEndpoint(res, "No endpoint is available: connect an enabled endpoint to the incoming block")
    case "no-model":
      return Respond.modelNotFound(res, model)
    case "cooling-down":
      return Respond.noEndpoint(res, "Every endpoint is cooling down after failures", refusal.retryAfterSeconds)
    case "queue-full":
      return Respond.noEndpoint(res, "Every endpoint is at its concurrency limit and the queue is full", 1)
    case "queue-timeout":
      return Respond.noEndpoint(res, "Every endpoint stayed at its concurrency limit for the whole queue timeout", 1)
    case "shutting-down":
      return Respond.noEndpoint(res, "The load balancer is shutting down", 1)
    case "cancelled":
      return // the client is gone: nobody to answer
  }
}

/** The route appended to an endpoint's base URL, made once rather than per request. */
const UPSTREAM_PATH: Record<Operation, string> = {
  "chat/completions": "/chat/completions",
  completions: "/completions",
  embeddings: "/embeddings",
  models: "/models"
}

const GEN_AI_OPERATION: Record<Operation, string> = {
  "chat/completions": "chat",
  completions: "text_completion",
  embeddings: "embeddings",
  models: "models"
}

const endRequestSpan = (span: Span, status: number, attempts: number) => {
  span.setAttributes({ "http.response.status_code": status, "lb.attempts": attempts })
  endSpan(span, status >= 500 ? `status ${status}` : undefined)
}

/** The lease, waiting in the queue if need be; a client that goes away meanwhile leaves the queue. */
const leaseFor = (res: ServerResponse, acquired: Lease | Refusal | Queued): Lease | Refusal | Promise<Lease | Refusal> => {
  if (!(acquired instanceof Promise)) return acquired
  const onClose = () => acquired.cancel()
  res.once("close", onClose)
  return acquired.finally(() => res.off("close", onClose))
}

export class DataPlane extends Effect.Service<DataPlane>()("DataPlane", {
  effect: Effect.gen(function*() {
    const config = yield* LbConfig
    const auth = yield* ClientAuth
    const topology = yield* Topology
    const routing = yield* RoutingEngine
    const catalog = yield* ModelCatalog
    const relay = yield* Relay
    const metrics = yield* Metrics
    const tracing = yield* Tracing
    const cache = yield* ResponseCache
    const lifecycle = yield* Lifecycle
    const requestIds = new RequestIds()

    /**
     * The client token's bound block, else the block of `/v1/{pool_name}/...` when one has that name,
     * else `default`. Undefined only if a bound block is gone, which its tokens prevent.
     */
    const blockOf = (route: Route, client: Client) =>
      client.blockId !== null
        ? topology.blockById(client.blockId)
        : (route.pool === undefined ? undefined : topology.blockByName(route.pool)) ?? topology.defaultBlock()

    const listModels = async (res: ServerResponse, block: BlockView) => {
      const endpoints = topology.wiredEndpoints(block.id).filter((e) => e.enabled)
      await catalog.ensureKnown(endpoints)
      const seen = new Set<string>()
      const data: Array<unknown> = []
      for (const endpoint of endpoints) {
        for (const model of catalog.modelsOf(endpoint) ?? []) {
          if (!seen.has(model.id)) {
            seen.add(model.id)
            data.push(model)
          }
        }
      }
      Respond.sendJson(res, 200, JSON.stringify({ object: "list", data }))
    }

    const generate = async (
      req: IncomingMessage,
      res: ServerResponse,
      route: Route,
      block: BlockView,
      client: Client,
      startedAt: number
    ) => {
      const readStart = performance.now()
      const raw = await readBody(req, config.maxRequestBodyBytes)
      // Reading the body is the client's upload, not the balancer's time.
      const excludedMs = performance.now() - readStart
      if (raw === "aborted") return
      if (raw === "too-large") return Respond.tooLarge(presetHead(res, idOf(req)), config.maxRequestBodyBytes)

      const body = parseRequestBody(raw)
      if (body instanceof JsonProblem) return Respond.badRequest(presetHead(res, idOf(req)), body.message, body.param)
      const promptEstimate = OpenAi.estimatePromptTokens(body)
      const estimate = tokenEstimate(body, route.operation === "embeddings", promptEstimate, config.defaultMaxTokens)
      const limits = client.limits
      if (limits === undefined) {
        return forward(req, res, route, block, client.id, startedAt, excludedMs, raw, body, promptEstimate, estimate)
      }
      // A limited client holds its estimate while the request runs, and is charged its real usage at the end.
      // Counted in this process synchronously; with Redis (shared by the replicas) one awaited call.
      const admission = limits.admit(res, Date.now(), estimate)
      const held = admission instanceof Promise ? await admission : admission
      if (held instanceof LimitRefusal) {
        return Respond.sendError(presetHead(res, idOf(req)), held.status, held.type, held.code, held.message, {
          headers: { "retry-after": String(held.retryAfterSeconds) }
        })
      }
      let used = 0
      try {
        used = await forward(req, res, route, block, client.id, startedAt, excludedMs, raw, body, promptEstimate, estimate)
      } finally {
        limits.settle(Date.now(), held, used)
      }
    }

    /** Answers a checked request from the cache or an upstream; resolves to the tokens its attempts used. */
    const forward = async (
      req: IncomingMessage,
      res: ServerResponse,
      route: Route,
      block: BlockView,
      clientId: string,
      startedAt: number,
      excludedMs: number,
      raw: Buffer,
      body: Record<string, unknown>,
      promptEstimate: number,
      estimate: number
    ): Promise<number> => {
      const model = body.model as string
      const cached = cache.lookup(block.id, clientId, route.operation, body, headerOf(req, "cache-control"))
      if (cached?.status === "HIT") {
        // Served by the balancer itself: no endpoint, no quota, no upstream stats.
        metrics.cacheHit()
        const { body: bytes, contentType, status } = cached.response
        presetHead(res, idOf(req)).writeHead(status, {
          "content-type": contentType,
          "content-length": bytes.length,
          "x-lb-cache": "HIT",
          "x-lb-endpoint": "cache",
          "x-lb-overhead-ms": overheadMs(startedAt, excludedMs)
        })
        res.end(bytes)
        return 0
      }
      if (cached?.status === "MISS") metrics.cacheMiss()

      // Streams need usage for token accounting: ask for it when the client did not, and hide it again.
      const stream = body.stream === true && route.operation !== "embeddings"
      const rewritten = stream ? withUsageRequested(raw, body) : undefined
      const upstreamBody = rewritten ?? raw
      const filterUsage = rewritten !== undefined

      const span = tracing.tracer?.startSpan(
        `${route.operation} ${model}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            "gen_ai.operation.name": GEN_AI_OPERATION[route.operation],
            "gen_ai.request.model": model,
            "http.request.method": "POST",
            "url.path": `/v1/${route.operation}`,
            "lb.block": block.name,
            "lb.stream": stream
          }
        },
        parentContext(req.headers.traceparent)
      )
      const request: RelayRequest = {
        requestId: idOf(req),
        res,
        path: UPSTREAM_PATH[route.operation],
        body: upstreamBody,
        stream,
        filterUsage,
        promptEstimate,
        startedAt,
        excludedMs,
        span,
        cache: cached,
        onFirstToken: undefined
      }
      const work = topology.effectiveMode(block) === "load"
        ? {
          chain: chainOf(OpenAi.promptText(body), model),
          promptTokens: promptEstimate,
          decodeTokens: Math.max(0, estimate - promptEstimate),
          session: config.sessionHeader === "" ? undefined : headerOf(req, config.sessionHeader)
        }
        : undefined

      let tried: Set<string> | undefined
      let lastFailure: Failure | undefined
      let used = 0
      let attempt = 1
      for (; attempt <= config.maxAttempts; attempt++) {
        const routingSpan = span === undefined ? undefined : childSpan(tracing.tracer!, span, "route")
        const acquired = leaseFor(res, routing.acquire(block, model, estimate, tried, work))
        let lease: Lease | Refusal
        if (acquired instanceof Promise) {
          // Waiting in the queue is not the balancer's own time either.
          const queuedAt = performance.now()
          lease = await acquired
          request.excludedMs += performance.now() - queuedAt
        } else {
          lease = acquired
        }
        if (!("endpoint" in lease)) {
          if (routingSpan !== undefined) endSpan(routingSpan, lease.kind)
          if (lastFailure === undefined) sendRefusal(presetHead(res, request.requestId), lease, model)
          else sendFailure(presetHead(res, request.requestId), lastFailure, overheadMs(startedAt, request.excludedMs))
          if (span !== undefined) endRequestSpan(span, res.statusCode, attempt - 1)
          return used
        }
        if (routingSpan !== undefined) {
          routingSpan.setAttribute("lb.endpoint", lease.endpoint.name)
          endSpan(routingSpan)
        }
        if (attempt > 1) metrics.failover()
        if (res.destroyed) {
          routing.release(lease, { kind: "neutral", tokens: 0 })
          return used
        }
        const leased = lease
        request.onFirstToken = leased.load === undefined ? undefined : (ms) => routing.prefillDone(leased, ms)
        const result = await relay.attempt(request, lease.endpoint)
        const usage = result.kind === "failed" ? undefined : result.usage
        const tokens = OpenAi.totalTokens(usage)
        routing.release(lease, result.kind === "client-gone" ? { kind: "neutral", tokens } : result.verdict)
        used += tokens
        if (result.kind !== "failed") {
          if (span !== undefined) {
            span.setAttribute("lb.endpoint", lease.endpoint.name)
            if (result.kind === "answered" && usage !== undefined) {
              span.setAttributes({
                "gen_ai.usage.input_tokens": usage.promptTokens,
                "gen_ai.usage.output_tokens": usage.completionTokens
              })
            }
            endRequestSpan(span, result.kind === "answered" ? result.status : 499, attempt)
          }
          return used
        }
        lastFailure = result.failure
        ;(tried ??= new Set()).add(lease.endpoint.id)
      }
      sendFailure(presetHead(res, request.requestId), lastFailure!, overheadMs(startedAt, request.excludedMs))
      if (span !== undefined) endRequestSpan(span, res.statusCode, attempt - 1)
      return used
    }

    const dispatch = async (req: IncomingMessage, res: ServerResponse) => {
      const startedAt = performance.now()
      const requestId = requestIds.of(req.headers["x-request-id"])
      req.headers["x-request-id"] = requestId
      if (lifecycle.draining()) {
        presetHead(res, requestId).setHeader("connection", "close")
        return Respond.noEndpoint(res, "The load balancer is shutting down", 1)
      }

      const url = req.url ?? "/"
      const query = url.indexOf("?")
      const path = query === -1 ? url : url.slice(0, query)
      const method = req.method ?? "GET"

      const client = auth.authenticate(req.headers.authorization)
      const route = client === undefined ? undefined : parseRoute(path)
      const block = route === undefined ? undefined : blockOf(route, client!)
      if (block?.enabled === true && route!.operation !== "models" && method === "POST") {
        // The relay writes the common headers with its own at the commit.
        return generate(req, res, route!, block, client!, startedAt)
      }
      // Answered here: the common headers set now.
      presetHead(res, requestId)
      if (client === undefined) return Respond.unauthorized(res)
      if (route === undefined) return Respond.invalidUrl(res, method, path)
      if (block === undefined) return Respond.noEndpoint(res, "The incoming block of this client token no longer exists")
      if (!block.enabled) return Respond.noEndpoint(res, `The incoming block ${block.name} is disabled`)
      if (route.operation === "models") {
        return method === "GET" || method === "HEAD"
          ? listModels(res, block)
          : Respond.methodNotAllowed(res, method, path, "GET")
      }
      return Respond.methodNotAllowed(res, method, path, "POST")
    }

    // Requests being handled, and who waits for there to be none (shutdown).
    let active = 0
    let onIdle: (() => void) | undefined

    /** The Node handler for every `/v1/*` request. */
    // Never rejects. One async function rather than `.catch` and `.finally` on dispatch's promise: no
    // closures nor promises more per request.
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      active++
      try {
        await dispatch(req, res)
      } catch (error) {
        // A bug, not an upstream failure: answer in OpenAI's shape and keep the details in the log.
        Effect.runFork(Effect.logError("data plane error", error))
        if (!res.headersSent) {
          Respond.sendError(presetHead(res, idOf(req)), 500, "api_error", "internal_error", "Internal error in the load balancer")
        } else res.destroy()
      } finally {
        if (--active === 0) onIdle?.()
      }
    }

    /** Resolves once no request is being handled, or after `timeoutMs`; true when idle. */
    const idle = (timeoutMs: number) =>
      new Promise<boolean>((resolve) => {
        if (active === 0) return resolve(true)
        const timer = setTimeout(() => resolve(false), timeoutMs)
        onIdle = () => {
          clearTimeout(timer)
          resolve(true)
        }
      })

    return { handle, idle, active: () => active } as const
  })
}) {}
