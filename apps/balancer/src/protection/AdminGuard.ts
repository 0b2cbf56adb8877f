/**
 * The front door of the admin API (DESIGN.md "Admin and security"), checked on the plain Node request
 * before the control plane sees it, so that it is cheap and holds for requests that will fail
 * authentication too. For every request under /admin/api (the event stream, its tickets and the
 * OpenAPI document included):
 * - at most LB_ADMIN_RATE_LIMIT_RPM requests per client address (an IPv6 client: its /64) over a
 *   sliding minute, else 429 with `Retry-After`. Every request counts once, whether its token is
 *   right or not; refused ones do not count, so a client that waits as told gets in. With
 *   LB_REDIS_URL the count is shared by every replica (while Redis fails, each counts its own).
 * - a declared body over LB_MAX_REQUEST_BODY_BYTES gets 413 before any of it is read;
 * - a payload (POST, PATCH, ...) of another type than JSON gets 415: the API reads nothing else.
 * Refusals carry `{"message"}` like the API's own errors, and close the connection (a body may still
 * be on its way). `withBodyRules` adds what only the reader of a body can check.
 */
import { HttpIncomingMessage, HttpMethod, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Address, JsonProblem, MinuteLimits, NOT_JSON, NOT_UTF8, parseJson } from "@llmlb/core"
import { Effect, Option } from "effect"
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http"
import { ClientAddress } from "../http/ClientAddress.js"
import { LbConfig } from "../Config.js"
import { sendJson } from "../http/Json.js"
import { limitKeys, RedisLimits } from "./RedisLimits.js"

/**
 * Client addresses tracked at most; beyond it the least recently seen is forgotten. Each costs about
 * 2 KB (a minute of 1-second buckets), so a flood of distinct addresses holds some 20 MB at worst.
 */
const MAX_TRACKED_ADDRESSES = 10_000

/**
 * Whether a request target reaches the admin API. The control plane's router (find-my-way) is
 * lenient: it takes absolute-form targets, merges repeated slashes, ends the path at `?`, `;` or `#`,
 * decodes percent escapes and ignores case, so the raw target alone could dodge the limit
 * (`//admin/api/state`, `/%61dmin/api/state`, `/ADMIN/api/state`). This reads it the same way.
 */
export const isAdminApi = (target: string): boolean => {
  let path = target.startsWith("/") ? target : target.replace(/^https?:\/\/.*?\//, "/")
  path = path.replace(/\/\/+/g, "/")
  const end = path.slice(1).search(/[?;#]/)
  if (end !== -1) path = path.slice(0, end + 1)
  try {
    path = decodeURI(path)
  } catch {
    // The router cannot read it either (it answers 404): counting it costs nothing.
    return true
  }
  return /^\/admin\/api(\/|$)/i.test(path)
}

/**
 * Whether the admin API parses a body of this type as JSON (no type at all it takes for JSON too).
 * It would read others as forms or multipart, which it has no use for (an empty multipart body even
 * leaves the request hanging).
 */
const isJson = (contentType: string | undefined) =>
  contentType === undefined || contentType.toLowerCase().includes("application/json")

const refuse = (res: ServerResponse, status: number, tag: string, message: string, headers: OutgoingHttpHeaders = {}) => {
  sendJson(res, status, JSON.stringify({ _tag: tag, message }), { ...headers, connection: "close" })
  return true
}

export class AdminGuard extends Effect.Service<AdminGuard>()("AdminGuard", {
  effect: Effect.gen(function*() {
    const config = yield* LbConfig
    const addresses = yield* ClientAddress
    const clock = yield* Effect.clock
    const { shared } = yield* RedisLimits
    /** Counted here without Redis; with it, only while Redis fails (the limit then holds per replica). */
    const limits = new MinuteLimits(config.adminRateLimitRpm, MAX_TRACKED_ADDRESSES)

    /** What the rate limit left to check; answers whether the request was refused. */
    const checkRest = (req: IncomingMessage, res: ServerResponse, address: string, waitMs: number): boolean => {
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000)
        return refuse(
          res,
          429,
          "TooManyRequests",
          `Too many admin API requests from ${address}: at most ${config.adminRateLimitRpm} per minute. Try again in ${seconds}s.`,
          { "retry-after": String(seconds) }
        )
      }
      const length = Number(req.headers["content-length"] ?? 0)
      if (length > config.maxRequestBodyBytes) {
        return refuse(res, 413, "PayloadTooLarge", `Request body exceeds ${config.maxRequestBodyBytes} bytes`)
      }
      // Requests whose body the admin API would read as a payload.
      if (HttpMethod.hasBody(req.method as HttpMethod.HttpMethod) && !isJson(req.headers["content-type"])) {
        return refuse(res, 415, "UnsupportedMediaType", "The admin API takes JSON bodies only: send Content-Type: application/json")
      }
      return false
    }

    /**
     * Answers a request the admin API must not see; anything else goes on to `next`, at once or (with
     * Redis) once the shared count has answered.
     */
    const handle = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
      if (!isAdminApi(req.url!)) return next()
      const address = addresses.ofNode(req) ?? "unknown"
      const key = Address.limitKey(address)
      const local = () => limits.take(key, clock.unsafeCurrentTimeMillis())
      if (shared === undefined) {
        if (!checkRest(req, res, address, local())) next()
        return
      }
      shared.take(limitKeys(`admin:${key}`), config.adminRateLimitRpm).then((waitMs) => {
        if (!checkRest(req, res, address, waitMs ?? local())) next()
      }).catch((error: unknown) => {
        // A bug in what follows, not Redis (its failures answer undefined): keep it in the log.
        Effect.runFork(Effect.logError("admin request error", error))
        res.destroy()
      })
    }

    return { handle } as const
  })
}) {}

const badRequest = (message: string) => HttpServerResponse.unsafeJson({ _tag: "BadRequest", message }, { status: 400 })

const notJson = badRequest("The request body is not valid JSON")

/**
 * The text of a payload, read as bytes and refused (a failure like a broken body's, carrying the
 * JsonProblem) when they are not UTF-8 (decoding would make U+FFFD of them without a word), nest
 * deeper than MAX_JSON_DEPTH (formatting the schema error of such a value overflows the stack) or give
 * a top-level key twice (the last would win without a word). Broken JSON passes, for the API to refuse.
 */
const checkedText = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.flatMap(request.arrayBuffer, (buffer) => {
    const bytes = new Uint8Array(buffer)
    const refuse = (problem: JsonProblem) => Effect.fail(new HttpServerError.RequestError({ request, reason: "Decode", cause: problem }))
    let text: string
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)
    } catch {
      return refuse(NOT_UTF8)
    }
    const parsed = parseJson(bytes, text)
    return parsed instanceof JsonProblem && parsed !== NOT_JSON ? refuse(parsed) : Effect.succeed(text)
  })

/** The request, whose body reads (text, json) answer `text`, also after a router's `modify`. */
const withText = <E>(request: HttpServerRequest.HttpServerRequest, text: Effect.Effect<string, E>): HttpServerRequest.HttpServerRequest =>
  Object.create(request, {
    text: { value: text },
    modify: { value: (options: Parameters<typeof request.modify>[0]) => withText(request.modify(options), text) }
  })

/** The app, its payloads checked when it reads them: after authentication, only if the route takes one. */
const withCheckedPayload = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    HttpMethod.hasBody(request.method)
      ? Effect.provideService(app, HttpServerRequest.HttpServerRequest, withText(request, Effect.runSync(Effect.cached(checkedText(request)))))
      : app)

/**
 * The control plane app with the body rules that need the body itself: one sent without a length is
 * cut off at LB_MAX_REQUEST_BODY_BYTES (the connection closes), a hostile one (see checkedText) gets a
 * 400 saying why, and one that is not valid JSON a 400 with a message like the admin API's other
 * errors (HttpApi dies on it with an empty 400).
 */
export const withBodyRules = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>, maxBytes: number) =>
  HttpIncomingMessage.withMaxBodySize(withCheckedPayload(app), Option.some(maxBytes)).pipe(
    Effect.catchSomeDefect((defect) =>
      HttpServerError.isServerError(defect) && defect._tag === "RequestError" && defect.reason === "Decode"
        ? Option.some(Effect.succeed(defect.cause instanceof JsonProblem ? badRequest(defect.cause.message) : notJson))
        : Option.none()
    )
  )
