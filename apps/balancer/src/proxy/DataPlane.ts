/**
 * The /v1 data plane: a plain Node request handler, built once by this layer from the Effect services
 * (see DESIGN.md, "Data plane and control plane"). Per request: one body parse, synchronous routing
 * and stats, an undici request upstream, the response relayed chunk by chunk. No fiber, no Schema
 * decode, no SQL.
 */
import { OpenAi } from "@llmlb/core"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { performance } from "node:perf_hooks"
import { LbConfig } from "../Config.js"
import { ClientAuth } from "../protection/ClientAuth.js"
import { ModelCatalog } from "../routing/ModelCatalog.js"
import { RoutingEngine } from "../routing/RoutingEngine.js"
import { VERSION } from "../Version.js"
import { readBody } from "./Body.js"
import * as Respond from "./Respond.js"
import { Relay } from "./Relay.js"

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

/** A client's X-Request-ID is kept when it is a sane header value, else replaced. */
const requestIdOf = (given: string | Array<string> | undefined) =>
  typeof given === "string" && given.length <= 200 && /^[\x21-\x7e]+$/.test(given) ? given : randomUUID()

export class DataPlane extends Effect.Service<DataPlane>()("DataPlane", {
  effect: Effect.gen(function*() {
    const config = yield* LbConfig
    const auth = yield* ClientAuth
    const routing = yield* RoutingEngine
    const catalog = yield* ModelCatalog
    const relay = yield* Relay

    const listModels = async (res: ServerResponse) => {
      const endpoints = routing.candidates()
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

    const generate = async (req: IncomingMessage, res: ServerResponse, route: Route, startedAt: number) => {
      const raw = await readBody(req, config.maxRequestBodyBytes)
      if (raw === "aborted") return
      if (raw === "too-large") return Respond.tooLarge(res, config.maxRequestBodyBytes)

      let body: Record<string, unknown>
      try {
        body = JSON.parse(raw.toString("utf8"))
      } catch {
        return Respond.badRequest(res, "We could not parse the JSON body of your request: it is not valid JSON")
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        return Respond.badRequest(res, "The request body must be a JSON object")
      }
      if (typeof body.model !== "string" || body.model === "") {
        return Respond.badRequest(res, "You must provide a model parameter (a non-empty string)", "model")
      }

      // Streams need usage for token accounting: ask for it when the client did not, and hide it again.
      let upstreamBody: Buffer | string = raw
      let filterUsage = false
      const stream = body.stream === true && route.operation !== "embeddings"
      if (stream) {
        const options = body.stream_options
        if (!(typeof options === "object" && options !== null && (options as any).include_usage === true)) {
          body.stream_options = { ...(typeof options === "object" ? options : {}), include_usage: true }
          upstreamBody = JSON.stringify(body)
          filterUsage = true
        }
      }

      const endpoint = routing.pick()
      if (endpoint === undefined) {
        return Respond.noEndpoint(res, "No endpoint is available: connect an enabled endpoint to the incoming node")
      }
      try {
        await relay.send({
          req,
          res,
          endpoint,
          path: `/${route.operation}`,
          body: upstreamBody,
          stream,
          filterUsage,
          promptEstimate: OpenAi.estimatePromptTokens(body),
          startedAt
        })
      } finally {
        routing.release(endpoint.id)
      }
    }

    const dispatch = async (req: IncomingMessage, res: ServerResponse) => {
      const startedAt = performance.now()
      const requestId = requestIdOf(req.headers["x-request-id"])
      res.setHeader("x-request-id", requestId)
      res.setHeader("x-lb-version", VERSION)
      req.headers["x-request-id"] = requestId

      const url = req.url ?? "/"
      const query = url.indexOf("?")
      const path = query === -1 ? url : url.slice(0, query)
      const method = req.method ?? "GET"

      if (!auth.check(req.headers.authorization)) return Respond.unauthorized(res)
      const route = parseRoute(path)
      if (route === undefined) return Respond.invalidUrl(res, method, path)
      if (route.operation === "models") {
        return method === "GET" || method === "HEAD" ? listModels(res) : Respond.methodNotAllowed(res, method, path, "GET")
      }
      if (method !== "POST") return Respond.methodNotAllowed(res, method, path, "POST")
      return generate(req, res, route, startedAt)
    }

    /** The Node handler for every `/v1/*` request. */
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      dispatch(req, res).catch((error: unknown) => {
        // A bug, not an upstream failure: answer in OpenAI's shape and keep the details in the log.
        Effect.runFork(Effect.logError("data plane error", error))
        if (!res.headersSent) Respond.sendError(res, 500, "api_error", "internal_error", "Internal error in the load balancer")
        else res.destroy()
      })
    }

    return { handle } as const
  })
}) {}
