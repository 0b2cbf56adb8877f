/**
 * X-Admin-Token guard for the admin API. Compared in constant time (over SHA-256 digests, so the
 * length of the token leaks nothing either); an empty or missing value is always refused.
 */
import { AdminAuth, Unauthorized } from "@llmlb/api"
import { Effect, Layer, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { LbConfig } from "../Config.js"

const digest = (value: string) => createHash("sha256").update(value).digest()

export const safeEqual = (given: string, expected: string) =>
  given !== "" && timingSafeEqual(digest(given), digest(expected))

export const AdminAuthLive = Layer.effect(
  AdminAuth,
  Effect.gen(function*() {
    const { adminToken } = yield* LbConfig
    const expected = Redacted.value(adminToken)
    return {
      adminToken: (token) =>
        safeEqual(Redacted.value(token), expected)
          ? Effect.void
          : Effect.fail(new Unauthorized({ message: "missing or invalid X-Admin-Token" }))
    }
  })
)
