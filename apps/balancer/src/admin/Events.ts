/**
 * GET /admin/api/events: the admin state as a server-sent event stream for the editor. Each event's
 * data is the JSON of GET /admin/api/state, sent at once, every second and right after each admin
 * mutation (all pass through the audit log); a `: heartbeat` comment every 15 s keeps proxies from
 * closing an idle line. Declared in the admin HttpApi (packages/api, EventStreamGroup) and answered
 * raw, as it streams; EventsAuth (Security.ts) admits the admin token or a ticket. Streams end when
 * the server closes.
 */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { AdminApi } from "@llmlb/api"
import { Effect, Stream } from "effect"
import { Audit } from "../observability/Audit.js"
import { LiveState } from "../observability/LiveState.js"

const STATE_EVERY = "1 second"
const HEARTBEAT_EVERY = "15 seconds"

export const EventStreamLive = HttpApiBuilder.group(AdminApi, "eventStream", (handlers) =>
  Effect.gen(function*() {
    const live = yield* LiveState
    const audit = yield* Audit

    /** One element per admin mutation; a burst of them while one is being sent counts once. */
    const changes = Stream.asyncPush<void>(
      (emit) =>
        Effect.acquireRelease(
          Effect.sync(() => audit.onMutation(() => Effect.sync(() => emit.single(undefined)))),
          (unsubscribe) => Effect.sync(unsubscribe)
        ),
      { bufferSize: 1, strategy: "sliding" }
    )
    const states = Stream.merge(Stream.tick(STATE_EVERY), changes).pipe(
      Stream.map(() => `data: ${JSON.stringify(live.state())}\n\n`)
    )
    const heartbeats = Stream.tick(HEARTBEAT_EVERY).pipe(Stream.drop(1), Stream.as(": heartbeat\n\n"))
    const events = Stream.merge(states, heartbeats).pipe(Stream.encodeText)

    return handlers.handleRaw("stream", () =>
      Effect.succeed(HttpServerResponse.stream(events, {
        contentType: "text/event-stream",
        headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
      })))
  }))
