/**
 * Single-use tickets for the event stream: a browser's EventSource cannot send X-Admin-Token, so the
 * editor trades the token for a ticket (POST /admin/api/events/ticket) and puts that in the URL.
 * 32 random bytes, base64url, valid for 30 s, gone once used.
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"

export const TICKET_SECONDS = 30

export class EventTickets extends Effect.Service<EventTickets>()("EventTickets", {
  effect: Effect.gen(function*() {
    const clock = yield* Effect.clock
    /** Ticket -> expiry (epoch ms). */
    const tickets = new Map<string, number>()

    const dropExpired = (now: number) => {
      for (const [ticket, expires] of tickets) if (expires <= now) tickets.delete(ticket)
    }

    return {
      issue: Effect.sync(() => {
        const now = clock.unsafeCurrentTimeMillis()
        dropExpired(now)
        const ticket = randomBytes(32).toString("base64url")
        tickets.set(ticket, now + TICKET_SECONDS * 1000)
        return { ticket, expires_in_seconds: TICKET_SECONDS }
      }),
      /** True once for a ticket issued less than 30 s ago; false ever after. */
      redeem: (ticket: string) =>
        Effect.sync(() => {
          const expires = tickets.get(ticket)
          tickets.delete(ticket)
          return expires !== undefined && clock.unsafeCurrentTimeMillis() < expires
        })
    } as const
  })
}) {}
