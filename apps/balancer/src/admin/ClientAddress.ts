/**
 * The address a request came from, for the audit log (and, later, rate limits). The one place that
 * decides it: today the socket's address; LB_TRUSTED_PROXIES handling (DESIGN.md "Admin and
 * security") belongs here.
 */
import type { HttpServerRequest } from "@effect/platform"
import { Option } from "effect"

export const clientAddress = (request: HttpServerRequest.HttpServerRequest): string | null =>
  Option.getOrNull(request.remoteAddress)
