/**
 * Single-use tickets for the WebSocket /api/live: a browser's WebSocket cannot send `Authorization`, so the
 * page trades LP_TOKEN for a ticket (POST /api/live/ticket) and puts it in the URL. 32 random bytes,
 * base64url, valid for 30 s, gone once used.
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"

export const LIVE_TICKET_SECONDS = 30

export class LiveTickets extends Effect.Service<LiveTickets>()("LiveTickets", {
  sync: () => {
    /** Ticket -> expiry (epoch ms). */
    const expiries = new Map<string, number>()
    return {
      issue: Effect.sync(() => {
        const now = Date.now()
        for (const [ticket, expires] of expiries) if (expires <= now) expiries.delete(ticket)
        const ticket = randomBytes(32).toString("base64url")
        expiries.set(ticket, now + LIVE_TICKET_SECONDS * 1000)
        return { ticket, expires_in_seconds: LIVE_TICKET_SECONDS }
      }),
      /** True once for a ticket issued less than 30 s ago (plain: called on the upgrade path). */
      redeem: (ticket: string): boolean => {
        const expires = expiries.get(ticket)
        expiries.delete(ticket)
        return expires !== undefined && Date.now() < expires
      }
    } as const
  }
}) {}
