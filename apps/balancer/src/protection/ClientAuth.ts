/**
 * Client authentication for /v1: with a token configured anywhere (LB_CLIENT_TOKENS or the admin API,
 * enabled or not), a request needs `Authorization: Bearer <token>`; with none, the API is open.
 * Tokens are looked up by the SHA-256 digest of what the client sent, so the comparison never depends
 * on how much of a token matched.
 */
import { Effect } from "effect"
import { type Client, ClientTokens, sha256 } from "./ClientTokens.js"

export type { Client } from "./ClientTokens.js"

const ANONYMOUS: Client = { id: "", blockId: null, limits: undefined }

export class ClientAuth extends Effect.Service<ClientAuth>()("ClientAuth", {
  effect: Effect.gen(function*() {
    const tokens = yield* ClientTokens

    /** The client, or undefined when a token is required and the request carries no known one. */
    const authenticate = (authorization: string | undefined): Client | undefined => {
      if (!tokens.required()) return ANONYMOUS
      if (authorization === undefined || !/^bearer /i.test(authorization)) return undefined
      const token = authorization.slice(7).trim()
      return token === "" ? undefined : tokens.use(sha256(token))
    }

    return { authenticate } as const
  })
}) {}
