/**
 * Keep-alive connection pools to the upstreams, one per origin (and TLS verification setting).
 * LB_MAX_CONNECTIONS bounds the connections to one origin. LB_MAX_KEEPALIVE of them are kept open
 * while idle; connections opened beyond that, under bursts, close within a second of going idle.
 */
import type { Endpoint } from "@llmlb/core"
import { Effect } from "effect"
import { Pool } from "undici"
import { LbConfig } from "../Config.js"

/** How long a connection beyond LB_MAX_KEEPALIVE may stay idle. */
const BURST_IDLE_MS = 1_000

class OriginPools {
  constructor(
    private readonly keep: Pool | undefined,
    private readonly keepSize: number,
    private readonly burst: Pool | undefined
  ) {}

  /** The kept pool while it has a free connection slot, else the burst pool. */
  choose(): Pool {
    if (this.keep !== undefined) {
      const { running, pending, queued } = this.keep.stats
      if (this.burst === undefined || running + pending + queued < this.keepSize) return this.keep
    }
    return this.burst!
  }

  close() {
    return Promise.all([this.keep?.close(), this.burst?.close()])
  }
}

export interface UpstreamTarget {
  readonly origin: string
  readonly pools: OriginPools
  /** The base URL's path, e.g. `/v1`: routes are appended to it. */
  readonly basePath: string
  readonly authorization: string | undefined
}

export class Upstreams extends Effect.Service<Upstreams>()("Upstreams", {
  scoped: Effect.gen(function*() {
    const { maxConnections, maxKeepalive } = yield* LbConfig
    const keepSize = Math.min(maxKeepalive, maxConnections)
    const burstSize = maxConnections - keepSize
    const pools = new Map<string, OriginPools>()

    const make = (origin: string, verifyTls: boolean) => {
      const connect = verifyTls ? undefined : { rejectUnauthorized: false }
      const pool = (connections: number, idle: object) =>
        new Pool(origin, { connections, pipelining: 1, ...idle, ...(connect ? { connect } : {}) })
      return new OriginPools(
        keepSize > 0 ? pool(keepSize, {}) : undefined,
        keepSize,
        burstSize > 0 ? pool(burstSize, { keepAliveTimeout: BURST_IDLE_MS, keepAliveMaxTimeout: BURST_IDLE_MS }) : undefined
      )
    }

    const originPools = (origin: string, verifyTls: boolean) => {
      const key = verifyTls ? origin : `${origin} insecure`
      let found = pools.get(key)
      if (found === undefined) {
        found = make(origin, verifyTls)
        pools.set(key, found)
      }
      return found
    }

    // Records are replaced, never mutated, on update: a stale entry is simply never looked up again.
    const targets = new WeakMap<Endpoint.EndpointRecord, UpstreamTarget>()

    /** Where and how to send a request to this endpoint; computed once per endpoint version. */
    const targetOf = (endpoint: Endpoint.EndpointRecord): UpstreamTarget => {
      let target = targets.get(endpoint)
      if (target === undefined) {
        const url = new URL(endpoint.base_url)
        target = {
          origin: url.origin,
          pools: originPools(url.origin, endpoint.verify_tls),
          basePath: url.pathname,
          authorization: endpoint.api_key ? `Bearer ${endpoint.api_key}` : undefined
        }
        targets.set(endpoint, target)
      }
      return target
    }

    yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all([...pools.values()].map((p) => p.close()))))

    return { targetOf } as const
  })
}) {}
