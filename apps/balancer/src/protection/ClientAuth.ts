/**
 * Client authentication for /v1: with tokens configured, a request needs `Authorization: Bearer <token>`.
 * Tokens are kept as SHA-256 digests and looked up by the digest of what the client sent, so the
 * comparison never depends on how much of a token matched.
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { LbConfig } from "../Config.js"

export const sha256 = (value: string) => createHash("sha256").update(value).digest("hex")

export class ClientAuth extends Effect.Service<ClientAuth>()("ClientAuth", {
  effect: Effect.gen(function*() {
    const { clientTokens } = yield* LbConfig
    const digests = new Set(clientTokens.map(sha256))

    /** True when the request may pass: the API is open, or it carries a known bearer token. */
    const check = (authorization: string | undefined): boolean => {
      if (digests.size === 0) return true
      if (authorization === undefined || !/^bearer /i.test(authorization)) return false
      const token = authorization.slice(7).trim()
      return token !== "" && digests.has(sha256(token))
    }

    return { check } as const
  })
}) {}
