/**
 * Cache of whole (non-streaming) responses, per incoming block, client token and route, keyed by the
 * canonical request body. LB_CACHE_MODE says what may be cached: `off`; `deterministic` (the
 * default: temperature 0, a `seed`, or embeddings, where the same request gives the same answer); or
 * `all`. A client's `Cache-Control: no-cache` bypasses it.
 */
import { canonicalJson, TtlCache } from "@llmlb/core"
import { Effect } from "effect"
import { LbConfig } from "../Config.js"

export interface CachedResponse {
  readonly status: number
  readonly contentType: string
  readonly body: Buffer
}

/** What X-LB-Cache says. */
export type CacheStatus = "HIT" | "MISS" | "BYPASS"

export type Lookup =
  | { readonly status: "HIT"; readonly response: CachedResponse }
  | { readonly status: "MISS"; readonly key: string }
  | { readonly status: "BYPASS" }

const BYPASS: Lookup = { status: "BYPASS" }

export class ResponseCache extends Effect.Service<ResponseCache>()("ResponseCache", {
  effect: Effect.gen(function*() {
    const config = yield* LbConfig
    const cache = new TtlCache<CachedResponse>({
      maxEntries: config.cacheMaxEntries,
      maxBytes: config.cacheMaxBytes,
      ttlMs: config.cacheTtlSeconds * 1000
    })

    const cacheable = (body: Record<string, unknown>, embeddings: boolean) =>
      config.cacheMode === "all" || embeddings || body.temperature === 0 || typeof body.seed === "number"

    return {
      enabled: config.cacheMode !== "off",
      /** Looks a request up; undefined when the cache is off. */
      lookup: (
        blockId: string,
        tokenId: string,
        operation: string,
        body: Record<string, unknown>,
        cacheControl: string | undefined
      ): Lookup | undefined => {
        const embeddings = operation === "embeddings"
        if (config.cacheMode === "off") return undefined
        if (body.stream === true && !embeddings) return BYPASS
        if (cacheControl !== undefined && /no-cache|no-store/i.test(cacheControl)) return BYPASS
        if (!cacheable(body, embeddings)) return BYPASS
        const key = `${blockId}\n${tokenId}\n${operation}\n${canonicalJson(body)}`
        const response = cache.get(key, Date.now())
        return response === undefined ? { status: "MISS", key } : { status: "HIT", response }
      },
      store: (key: string, response: CachedResponse) =>
        cache.set(key, response, response.body.length + key.length, Date.now()),
      clear: () => cache.clear(),
      size: () => cache.size
    } as const
  })
}) {}
