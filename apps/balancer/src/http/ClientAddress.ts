/**
 * The address a request came from, for the audit log and the admin rate limit: the socket's, or,
 * when the socket's address is in LB_TRUSTED_PROXIES, the nearest untrusted `X-Forwarded-For` hop
 * (DESIGN.md "Admin and security"; the algorithm is `Address.clientAddress` in packages/core). The one
 * place that decides it, for plain Node requests (the front of the server) and Effect ones alike.
 */
import type { HttpServerRequest } from "@effect/platform"
import { Address } from "@llmlb/core"
import { Effect, Option } from "effect"
import type { IncomingMessage } from "node:http"
import { LbConfig } from "../Config.js"

export class ClientAddress extends Effect.Service<ClientAddress>()("ClientAddress", {
  effect: Effect.map(LbConfig, ({ trustedProxies }) => {
    const resolve = (peer: string | undefined, forwardedFor: string | ReadonlyArray<string> | undefined) =>
      Address.clientAddress(peer, forwardedFor, trustedProxies) ?? null

    return {
      /** Of a request at the front of the server. */
      ofNode: (req: IncomingMessage): string | null => resolve(req.socket.remoteAddress, req.headers["x-forwarded-for"]),
      /** Of a control plane request. */
      of: (request: HttpServerRequest.HttpServerRequest): string | null =>
        resolve(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-for"])
    } as const
  })
}) {}
