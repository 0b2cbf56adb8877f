/**
 * The admin API's security: an `X-Admin-Token` header on every operation. Declared here so that the
 * OpenAPI document and clients know it; the balancer provides the check (admin/Security.ts).
 */
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Unauthorized } from "./Errors.js"

export class AdminAuth extends HttpApiMiddleware.Tag<AdminAuth>()("AdminAuth", {
  failure: Unauthorized,
  security: { adminToken: HttpApiSecurity.apiKey({ key: "X-Admin-Token", in: "header" }) }
}) {}

/**
 * The event stream's security: the admin token, or a single-use ticket from POST /admin/api/events/ticket
 * in the query, because a browser's EventSource cannot send headers.
 */
export class EventsAuth extends HttpApiMiddleware.Tag<EventsAuth>()("EventsAuth", {
  failure: Unauthorized,
  security: {
    adminToken: HttpApiSecurity.apiKey({ key: "X-Admin-Token", in: "header" }),
    ticket: HttpApiSecurity.apiKey({ key: "ticket", in: "query" })
  }
}) {}
