/**
 * Every client token the /v1 API accepts: those of LB_CLIENT_TOKENS and the managed ones of the admin
 * API (DESIGN.md "Admin and security"). Held in memory by the SHA-256 digest of the secret, for the data
 * plane's synchronous lookups, and written through to SQLite by the admin API, so that a disabled or
 * deleted token is refused from the next request on. Mutations are serialised so that the checks
 * before a write (unique names and secrets) hold when it lands.
 *
 * `last_used_at` is kept in memory on use and written in the background every few seconds and at
 * shutdown, never on the request's path.
 */
import { BadRequest, Conflict, NotFound } from "@llmlb/api"
import { ClientToken, Endpoint } from "@llmlb/core"
import { Effect } from "effect"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { LbConfig } from "../Config.js"
import { flushInBackground } from "../observability/Background.js"
import { type TokenRecord, TokenRepo } from "../store/TokenRepo.js"
import { ClientLimits, type Limits } from "./ClientLimits.js"
import { RedisLimits, type SharedStore } from "./RedisLimits.js"
import { SharedClientLimits } from "./SharedClientLimits.js"

export const sha256 = (value: string) => createHash("sha256").update(value).digest("hex")

/** Who sent a request: the identity that the response cache, block binding and limits hang on. */
export interface Client {
  /** "" for the open API; for a token, a stable id that reveals nothing of its secret. */
  readonly id: string
  /** The incoming block its requests enter, whatever their path; null = by path, else default. */
  readonly blockId: string | null
  /** Undefined when unlimited. */
  readonly limits: Limits | undefined
}

/** A managed token in memory. `client` is replaced when its settings change. */
interface Managed {
  record: TokenRecord
  client: Client
  /** Milliseconds since the epoch; ahead of `storedMs` until the next write. */
  lastUsedMs: number | null
  storedMs: number | null
}

const USE_WRITE_INTERVAL = "5 seconds"

const generateSecret = () => `sk-lb-${randomBytes(32).toString("base64url")}`

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** A token's client; its limits counted in Redis when `shared` is set, else here (carrying over `previous`). */
const clientOf = (record: TokenRecord, previous: Limits | undefined, shared: SharedStore | undefined): Client => {
  const id = `token-${record.id}`
  return {
    id,
    blockId: record.block_id,
    limits: shared === undefined
      ? ClientLimits.of(record.rpm_limit, record.tpm_limit, previous)
      : SharedClientLimits.of(shared, id, record.rpm_limit, record.tpm_limit)
  }
}

const unknownBlock = (blockId: string | null) =>
  new BadRequest({ message: `block_id: no incoming block with id ${blockId}` })

export class ClientTokens extends Effect.Service<ClientTokens>()("ClientTokens", {
  scoped: Effect.gen(function*() {
    const { clientTokens } = yield* LbConfig
    const repo = yield* TokenRepo
    const { shared } = yield* RedisLimits
    const lock = yield* Effect.makeSemaphore(1)

    /** LB_CLIENT_TOKENS: no block, no limits. */
    const env = new Map(clientTokens.map((token) => {
      const digest = sha256(token)
      return [digest, { id: `env-${digest.slice(0, 16)}`, blockId: null, limits: undefined } satisfies Client] as const
    }))
    /** Every managed token by id, in creation order. */
    const managed = new Map<string, Managed>()
    /** The enabled managed tokens by digest: the only ones a request may use. */
    const enabled = new Map<string, Managed>()

    const track = (token: Managed) => {
      managed.set(token.record.id, token)
      if (token.record.enabled) enabled.set(token.record.token_hash, token)
      else enabled.delete(token.record.token_hash)
    }

    for (const record of yield* repo.list) {
      const storedMs = record.last_used_at === null ? null : Date.parse(record.last_used_at)
      track({ record, client: clientOf(record, undefined, shared), lastUsedMs: storedMs, storedMs })
    }

    const toPublic = ({ lastUsedMs, record }: Managed): ClientToken.ClientToken => ({
      id: record.id,
      name: record.name,
      enabled: record.enabled,
      block_id: record.block_id,
      rpm_limit: record.rpm_limit,
      tpm_limit: record.tpm_limit,
      token_preview: record.token_preview,
      created_at: record.created_at,
      last_used_at: isoOrNull(lastUsedMs)
    })

    const writeUses = Effect.suspend(() => {
      const uses: Array<{ id: string; last_used_at: string }> = []
      for (const token of managed.values()) {
        if (token.lastUsedMs !== token.storedMs && token.lastUsedMs !== null) {
          uses.push({ id: token.record.id, last_used_at: isoOrNull(token.lastUsedMs)! })
          token.storedMs = token.lastUsedMs
        }
      }
      return repo.touch(uses)
    })
    yield* flushInBackground("token use", writeUses, USE_WRITE_INTERVAL)

    const entry = (id: string) =>
      Effect.suspend(() => {
        const found = managed.get(id)
        return found === undefined ? Effect.fail(new NotFound({ message: `client token ${id} not found` })) : Effect.succeed(found)
      })

    const ensureNameFree = (name: string, exceptId?: string) => {
      const lower = name.toLowerCase()
      for (const token of managed.values()) {
        if (token.record.id !== exceptId && token.record.name.toLowerCase() === lower) {
          return Effect.fail(new Conflict({ message: `a client token named "${name}" already exists` }))
        }
      }
      return Effect.void
    }

    const ensureSecretFree = (digest: string) => {
      const taken = env.has(digest) || [...managed.values()].some((token) => token.record.token_hash === digest)
      return taken ? Effect.fail(new Conflict({ message: "token: this secret is already in use by another client token" })) : Effect.void
    }

    /** A new token; its secret (given or generated) is in the answer and nowhere else, ever. */
    const create = (input: ClientToken.TokenCreate) =>
      Effect.gen(function*() {
        yield* ensureNameFree(input.name)
        const secret = input.token ?? generateSecret()
        const digest = sha256(secret)
        yield* ensureSecretFree(digest)
        const record: TokenRecord = {
          id: randomUUID(),
          name: input.name,
          enabled: input.enabled,
          block_id: input.block_id,
          rpm_limit: input.rpm_limit,
          tpm_limit: input.tpm_limit,
          token_preview: Endpoint.previewSecret(secret)!,
          created_at: new Date().toISOString(),
          last_used_at: null,
          token_hash: digest
        }
        if (!(yield* repo.insert(record))) return yield* Effect.fail(unknownBlock(record.block_id))
        const token: Managed = { record, client: clientOf(record, undefined, shared), lastUsedMs: null, storedMs: null }
        track(token)
        return { ...toPublic(token), token: secret } satisfies ClientToken.ClientTokenCreated
      }).pipe(lock.withPermits(1))

    const update = (id: string, patch: ClientToken.TokenPatch) =>
      Effect.gen(function*() {
        const token = yield* entry(id)
        if (patch.name !== undefined) yield* ensureNameFree(patch.name, id)
        const record: TokenRecord = { ...token.record, ...patch }
        if (!(yield* repo.update(record))) return yield* Effect.fail(unknownBlock(record.block_id))
        token.record = record
        token.client = clientOf(record, token.client.limits, shared)
        track(token)
        return toPublic(token)
      }).pipe(lock.withPermits(1))

    const remove = (id: string) =>
      Effect.gen(function*() {
        const token = yield* entry(id)
        yield* repo.remove(id)
        managed.delete(id)
        enabled.delete(token.record.token_hash)
      }).pipe(lock.withPermits(1))

    /**
     * Takes in the tokens as stored now (several replicas: another one changed them). Limit state and
     * last use of the tokens kept stay; revoked or deleted ones stop working here at once.
     */
    const reload = Effect.gen(function*() {
      const records = yield* repo.list
      const seen = new Set<string>()
      enabled.clear()
      for (const record of records) {
        seen.add(record.id)
        const token = managed.get(record.id)
        if (token === undefined) {
          const storedMs = record.last_used_at === null ? null : Date.parse(record.last_used_at)
          track({ record, client: clientOf(record, undefined, shared), lastUsedMs: storedMs, storedMs })
        } else {
          if (JSON.stringify({ ...record, last_used_at: null }) !== JSON.stringify({ ...token.record, last_used_at: null })) {
            token.record = record
            token.client = clientOf(record, token.client.limits, shared)
          }
          track(token)
        }
      }
      for (const id of [...managed.keys()]) if (!seen.has(id)) managed.delete(id)
    }).pipe(lock.withPermits(1))

    return {
      reload,
      /** Whether /v1 needs a token: one is configured anywhere, enabled or not. */
      required: () => env.size > 0 || managed.size > 0,
      /** The client of a secret's digest, its use noted; undefined when no enabled token has it. */
      use: (digest: string): Client | undefined => {
        const token = enabled.get(digest)
        if (token === undefined) return env.get(digest)
        token.lastUsedMs = Date.now()
        return token.client
      },
      /** In creation order. */
      list: () => Array.from(managed.values(), toPublic),
      find: (id: string) => Effect.map(entry(id), toPublic),
      create,
      update,
      remove
    } as const
  })
}) {}
