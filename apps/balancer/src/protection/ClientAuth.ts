/**
 * Client authentication for /v1: with tokens configured, a request needs `Authorization: Bearer <token>`.
 * Tokens are kept as SHA-256 digests and looked up by the digest of what the client sent, so the
 * comparison never depends on how much of a token matched.
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { LbConfig } from "../Config.js"

export const sha256 = (value: string) => createHash("sha256").update(value).digest("hex")

/** Who sent a request: the identity the cache key and, later, rate limits hang on. */
export interface Client {
  /** "" for the open API; for a configured token, a stable id that reveals nothing of it. */
  readonly id: string
}

const ANONYMOUS: Client = { id: "" }

export class ClientAuth extends Effect.Service<ClientAuth>()("ClientAuth", {
  effect: Effect.gen(function*() {
    const { clientTokens } = yield* LbConfig
    const clients = new Map(clientTokens.map((token) => {
      const digest = sha256(token)
      return [digest, { id: `env-${digest.slice(0, 16)}` }] as const
    }))

    /** The client, or undefined when a token is required and the request carries no known one. */
    const authenticate = (authorization: string | undefined): Client | undefined => {
      if (clients.size === 0) return ANONYMOUS
      if (authorization === undefined || !/^bearer /i.test(authorization)) return undefined
      const token = authorization.slice(7).trim()
      return token === "" ? undefined : clients.get(sha256(token))
    }

    return { authenticate } as const
  })
}) {}
