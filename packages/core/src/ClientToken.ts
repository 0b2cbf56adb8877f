/**
 * A client token is a managed key for the /v1 API (DESIGN.md "Admin and security"): a name, an
 * optional incoming block its requests enter, optional requests- and tokens-per-minute limits. The
 * secret is shown once, in the answer that creates it; afterwards only `token_preview`. These schemas
 * are the single definition of its fields.
 */
import { Schema } from "effect"
import { Name, rejectUnknownFields } from "./Endpoint.js"

export const TokenId = Schema.UUID.annotations({ description: "Client token id (UUID)" })

export const Secret = Schema.String.pipe(
  Schema.minLength(16, { message: () => "token must be at least 16 characters" }),
  Schema.maxLength(512, { message: () => "token must be at most 512 characters" }),
  Schema.pattern(/^[\x21-\x7e]*$/, { message: () => "token must contain printable ASCII characters only, no spaces" })
).annotations({ description: "The secret clients send as Authorization: Bearer" })

export const BlockBinding = Schema.NullOr(Schema.String).annotations({
  description: "Id of the incoming block its requests enter; null = by path (/v1/{block}/...), else default"
})

const perMinute = (field: string, unit: string) =>
  Schema.NullOr(
    Schema.Number.pipe(
      Schema.int({ message: () => `${field} must be an integer` }),
      Schema.between(1, 1_000_000_000, { message: () => `${field} must be null or between 1 and 1000000000` })
    )
  ).annotations({ description: `${unit} per sliding minute; null = unlimited` })

export const RpmLimit = perMinute("rpm_limit", "Requests")
export const TpmLimit = perMinute("tpm_limit", "Tokens (prompt + completion, counted after each request)")

/** Exact optionals: a field is either given or absent, so a patch spreads over a token as it is. */
const exact = { exact: true } as const

export const TokenCreate = Schema.Struct({
  name: Name,
  token: Schema.optionalWith(Secret, exact).annotations({ description: "Given secret; absent = a generated one" }),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  block_id: Schema.optionalWith(BlockBinding, { default: () => null }),
  rpm_limit: Schema.optionalWith(RpmLimit, { default: () => null }),
  tpm_limit: Schema.optionalWith(TpmLimit, { default: () => null })
}).annotations({ identifier: "ClientTokenCreate", ...rejectUnknownFields })
export type TokenCreate = typeof TokenCreate.Type

/** The secret is not among them: it cannot change (delete the token and create another). */
export const TokenPatch = Schema.Struct({
  name: Schema.optionalWith(Name, exact),
  enabled: Schema.optionalWith(Schema.Boolean, exact),
  block_id: Schema.optionalWith(BlockBinding, exact),
  rpm_limit: Schema.optionalWith(RpmLimit, exact),
  tpm_limit: Schema.optionalWith(TpmLimit, exact)
}).annotations({ identifier: "ClientTokenPatch", ...rejectUnknownFields })
export type TokenPatch = typeof TokenPatch.Type

/** What responses show: never the secret. */
export const ClientToken = Schema.Struct({
  id: TokenId,
  name: Name,
  enabled: Schema.Boolean,
  block_id: BlockBinding,
  rpm_limit: RpmLimit,
  tpm_limit: TpmLimit,
  token_preview: Schema.String.annotations({ description: "Identifies the secret without revealing it, e.g. sk-...a1b2" }),
  created_at: Schema.String.annotations({ description: "ISO 8601" }),
  last_used_at: Schema.NullOr(Schema.String).annotations({ description: "ISO 8601; null = never used" })
}).annotations({ identifier: "ClientToken" })
export type ClientToken = typeof ClientToken.Type

/** The answer to a creation: the one response that ever contains the secret. */
export const ClientTokenCreated = Schema.Struct({
  ...ClientToken.fields,
  token: Schema.String.annotations({ description: "The secret: shown in this response only, stored as a SHA-256 hash" })
}).annotations({ identifier: "ClientTokenCreated" })
export type ClientTokenCreated = typeof ClientTokenCreated.Type
