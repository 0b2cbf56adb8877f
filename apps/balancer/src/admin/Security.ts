/**
 * The admin API's guards. X-Admin-Token is compared in constant time (over SHA-256 digests, so the
 * length of the token leaks nothing either); an empty or missing value is always refused. The event
 * stream also admits a single-use ticket (EventTickets.ts).
 */
import { AdminAuth, EventsAuth, Unauthorized } from "@llmlb/api"
import { Effect, Layer, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { LbConfig } from "../Config.js"
import { EventTickets } from "./EventTickets.js"

const digest = (value: string) => createHash("sha256").update(value).digest()

const safeEqual = (given: string, expected: string) =>
  given !== "" && timingSafeEqual(digest(given), digest(expected))

/** Checks an X-Admin-Token value, failing with `message`. */
const adminTokenCheck = Effect.map(LbConfig, ({ adminToken }) => {
  const expected = Redacted.value(adminToken)
  return (message: string) => (token: Redacted.Redacted<string>) =>
    safeEqual(Redacted.value(token), expected) ? Effect.void : Effect.fail(new Unauthorized({ message }))
})

export const AdminAuthLive = Layer.effect(
  AdminAuth,
  Effect.map(adminTokenCheck, (check) => ({ adminToken: check("missing or invalid X-Admin-Token") }))
)

export const EventsAuthLive = Layer.effect(
  EventsAuth,
  Effect.gen(function*() {
    const check = yield* adminTokenCheck
    const tickets = yield* EventTickets
    const message = "missing or invalid X-Admin-Token or ticket"
    // The header is tried first; without a valid one, the ticket (an absent one is empty).
    return {
      adminToken: check(message),
      ticket: (ticket) =>
        Effect.flatMap(
          tickets.redeem(Redacted.value(ticket)),
          (valid) => valid ? Effect.void : Effect.fail(new Unauthorized({ message }))
        )
    }
  })
)
