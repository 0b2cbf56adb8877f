/**
 * LP_TOKEN: when set, every API call and the WebSocket need `Authorization: Bearer <LP_TOKEN>` (the
 * WebSocket also takes a single-use ticket). Compared in constant time over SHA-256 digests, so that
 * neither the content nor the length of the token leaks.
 */
import { Producer, Unauthorized } from "@llmlb/api"
import { Effect, Layer, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { LpConfig } from "../Config.js"

const digest = (value: string) => createHash("sha256").update(value).digest()

/** Plain: the WebSocket upgrade checks it outside Effect. Always true without LP_TOKEN. */
export const tokenAccepts = (token: Option.Option<Redacted.Redacted>, given: string): boolean =>
  Option.match(token, {
    onNone: () => true,
    onSome: (expected) => given !== "" && timingSafeEqual(digest(given), digest(Redacted.value(expected)))
  })

/** The bearer token of an `Authorization` header, "" when there is none. */
export const bearerOf = (header: string | undefined): string =>
  header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : ""

export const ProducerAuthLive = Layer.effect(
  Producer.ProducerAuth,
  Effect.gen(function*() {
    const { token } = yield* LpConfig
    return {
      bearer: (given) =>
        tokenAccepts(token, Redacted.value(given))
          ? Effect.void
          : Effect.fail(new Unauthorized({ message: "missing or invalid Authorization: Bearer <LP_TOKEN>" }))
    }
  })
)
