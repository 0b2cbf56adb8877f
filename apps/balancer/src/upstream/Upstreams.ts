/**
 * Keep-alive connection pools to the upstreams, one per origin (and TLS verification setting).
 * LB_MAX_CONNECTIONS bounds the connections to one origin. LB_MAX_KEEPALIVE of them are kept open
 * while idle; connections opened beyond that, under bursts, close within a second of going idle.
 */
import type { Endpoint } from "@llmlb/core"
import { Effect } from "effect"
import { Pool } from "undici"
import { LbConfig } from "../Config.js"
import { Topology } from "../store/Topology.js"

/** How long a kept connection stays open while idle, unless the upstream's Keep-Alive hint says less. */
const KEEP_IDLE_MS = 60_000
/** How long a connection beyond LB_MAX_KEEPALIVE may stay idle. */
const BURST_IDLE_MS = 1_000

class OriginPools {
  /** Requests on the kept pool now: counted here, as undici's pool.stats walks every connection. */
  private keepBusy = 0

  constructor(
    private readonly keep: Pool | undefined,
    private readonly keepSize: number,
    private readonly burst: Pool | undefined
  ) {}

  /** The kept pool while it has a free connection, else the burst pool; `release` it afterwards. */
  acquire(): Pool {
    if (this.keep !== undefined && (this.burst === undefined || this.keepBusy < this.keepSize)) {
      this.keepBusy++
      return this.keep
    }
    return this.burst!
  }

  release(pool: Pool): void {
    if (pool === this.keep) this.keepBusy--
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

const poolKey = (origin: string, verifyTls: boolean) => (verifyTls ? origin : `${origin} insecure`)

export class Upstreams extends Effect.Service<Upstreams>()("Upstreams", {
  scoped: Effect.gen(function*() {
    const { maxConnections, maxKeepalive } = yield* LbConfig
    const topology = yield* Topology
    const keepSize = Math.min(maxKeepalive, maxConnections)
    const burstSize = maxConnections - keepSize
    const pools = new Map<string, OriginPools>()

    const make = (origin: string, verifyTls: boolean) => {
      const connect = verifyTls ? undefined : { rejectUnauthorized: false }
      const pool = (connections: number, idle: object) =>
        new Pool(origin, { connections, pipelining: 1, ...idle, ...(connect ? { connect } : {}) })
      return new OriginPools(
        keepSize > 0 ? pool(keepSize, { keepAliveTimeout: KEEP_IDLE_MS }) : undefined,
        keepSize,
        burstSize > 0 ? pool(burstSize, { keepAliveTimeout: BURST_IDLE_MS, keepAliveMaxTimeout: BURST_IDLE_MS }) : undefined
      )
    }

    const originPools = (origin: string, verifyTls: boolean) => {
      const key = poolKey(origin, verifyTls)
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

    // Pools of origins no endpoint uses any more are closed (their requests in flight finish first).
    const unsubscribe = topology.onChange(() => {
      const used = new Set(topology.endpoints().map((e) => poolKey(new URL(e.base_url).origin, e.verify_tls)))
      for (const [key, found] of pools) {
        if (!used.has(key)) {
          pools.delete(key)
          void found.close()
        }
      }
    })
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => {
        unsubscribe()
        return Promise.all([...pools.values()].map((p) => p.close()))
      })
    )

    return { targetOf } as const
  })
}) {}
