/**
 * GET /admin/api/events: the admin state as a server-sent event stream for the editor. Each event's
 * data is the JSON of GET /admin/api/state, sent at once, every second and right after each admin
 * mutation (all pass through the audit log); a `: heartbeat` comment every 15 s keeps proxies from closing an idle line. A plain
 * route beside the admin HttpApi because it streams. Authenticated by X-Admin-Token or by a ticket
 * from POST /admin/api/events/ticket (`?ticket=`). Streams end when the server closes.
 */
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Redacted, Stream } from "effect"
import { Unauthorized } from "@llmlb/api"
import { LbConfig } from "../Config.js"
import { Audit } from "../observability/Audit.js"
import { LiveState } from "../observability/LiveState.js"
import { EventTickets } from "./EventTickets.js"
import { safeEqual } from "./Security.js"

const STATE_EVERY = "1 second"
const HEARTBEAT_EVERY = "15 seconds"

export const EventsRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const live = yield* LiveState
    const audit = yield* Audit
    const tickets = yield* EventTickets
    const adminToken = Redacted.value((yield* LbConfig).adminToken)

    /** One element per admin mutation; a burst of them while one is being sent counts once. */
    const changes = Stream.asyncPush<void>(
      (emit) =>
        Effect.acquireRelease(
          Effect.sync(() => audit.onMutation(() => emit.single(undefined))),
          (unsubscribe) => Effect.sync(unsubscribe)
        ),
      { bufferSize: 1, strategy: "sliding" }
    )
    const states = Stream.merge(Stream.tick(STATE_EVERY), changes).pipe(
      Stream.map(() => `data: ${JSON.stringify(live.state())}\n\n`)
    )
    const heartbeats = Stream.tick(HEARTBEAT_EVERY).pipe(Stream.drop(1), Stream.as(": heartbeat\n\n"))
    const events = Stream.merge(states, heartbeats).pipe(Stream.encodeText)

    const authorized = (request: HttpServerRequest.HttpServerRequest) => {
      const token = request.headers["x-admin-token"]
      if (token !== undefined) return Effect.succeed(safeEqual(token, adminToken))
      const ticket = new URL(request.url, "http://localhost").searchParams.get("ticket")
      return ticket === null ? Effect.succeed(false) : tickets.redeem(ticket)
    }

    const refused = HttpServerResponse.schemaJson(Unauthorized)(
      new Unauthorized({ message: "missing or invalid X-Admin-Token or ticket" }),
      { status: 401 }
    )

    yield* router.add("GET", "/admin/api/events", (request: HttpServerRequest.HttpServerRequest) =>
      Effect.flatMap(authorized(request), (ok) =>
        ok
          ? Effect.succeed(HttpServerResponse.stream(events, {
            contentType: "text/event-stream",
            headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
          }))
          : Effect.orDie(refused)))
  }))
