/**
 * Chooses the endpoint for each request of an incoming block and accounts for it until it ends:
 * candidates (wired, enabled, serving the model, not cooling down), then percentage, priority or load
 * routing among those below `max_concurrent`, else a FIFO wait for a free slot. Synchronous on the
 * data plane's hot path; only a queued request gets a promise.
 */
import type { Endpoint } from "@llmlb/core"
import { LoadScore, Prefix, Routing } from "@llmlb/core"
import { Effect } from "effect"
import { LbConfig } from "../Config.js"
import { type BlockView, Topology } from "../store/Topology.js"
import { Cooldowns } from "./Cooldowns.js"
import { type EndpointLoad, EndpointLoads, type RequestWork } from "./EndpointLoads.js"
import { EngineMetrics, type EngineState } from "./EngineMetrics.js"
import { ModelCatalog } from "./ModelCatalog.js"
import { type BlockShares, CATCH_UP_REQUESTS, TokenShares } from "./TokenShares.js"

/** A slot on an endpoint, held from dispatch until `release`. */
export interface Lease {
  readonly endpoint: Endpoint.EndpointRecord
  readonly shares: BlockShares
  readonly reserved: number
  /** Routing mode load: what this request added to its endpoint's load, until `prefillDone`/`release`. */
  readonly load: LeaseLoad | undefined
}

export interface LeaseLoad {
  readonly of: EndpointLoad
  /** Its uncached prompt tokens, counted in flight until its first token. */
  readonly uncached: number
  /** performance.now() at its dispatch, and its sequence number on the endpoint (EndpointLoad.dispatch). */
  readonly at: number
  readonly seq: number
  readonly decode: number
  prefilling: boolean
}

/** Why no endpoint could be given. */
export type Refusal =
  | { readonly kind: "no-endpoint" } // nothing enabled is wired to the block
  | { readonly kind: "no-model" } // wired, enabled endpoints exist, none serves the model
  | { readonly kind: "exhausted" } // every candidate was tried already (failover)
  | { readonly kind: "cooling-down"; readonly retryAfterSeconds: number } // all cooling, probes out
  | { readonly kind: "queue-full" }
  | { readonly kind: "queue-timeout" }
  | { readonly kind: "cancelled" } // the waiter withdrew from the queue (its client went away)
  | { readonly kind: "shutting-down" }

/**
 * How a request on an endpoint ended, for its breaker: a success closes it, a failure counts; neutral
 * (the client's own 4xx, the client went away) does neither but frees a probe. `tokens` it used count
 * in its block's token window, whatever the verdict.
 */
export type Verdict =
  | { readonly kind: "success"; readonly tokens: number }
  | { readonly kind: "failure"; readonly retryAfterMs: number; readonly tokens: number }
  | { readonly kind: "neutral"; readonly tokens: number }

interface Ask {
  readonly block: BlockView
  readonly model: string | undefined
  readonly estimate: number
  readonly exclude: ReadonlySet<string> | undefined
  /** Set when the block routes in mode load. */
  readonly work: RequestWork | undefined
}

/** A request waiting in the queue; `cancel` withdraws it (it then resolves as cancelled). */
export interface Queued extends Promise<Lease | Refusal> {
  readonly cancel: () => void
}

interface Waiter extends Ask {
  readonly resolve: (result: Lease | Refusal) => void
  readonly timer: NodeJS.Timeout
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** select: every candidate is at its concurrency limit. */
const FULL: unique symbol = Symbol("full")

export class RoutingEngine extends Effect.Service<RoutingEngine>()("RoutingEngine", {
  effect: Effect.gen(function*() {
    const config = yield* LbConfig
    const topology = yield* Topology
    const catalog = yield* ModelCatalog
    const cooldowns = yield* Cooldowns
    const shares = yield* TokenShares
    const loads = yield* EndpointLoads
    const engines = yield* EngineMetrics
    const loadSettings: LoadScore.LoadSettings = { minMatch: config.affinityMinMatch, maxPenaltyMs: config.affinityMaxPenaltyMs }
    /** Reused by every load decision: no allocation per candidate. */
    const scored: Array<Mutable<LoadScore.LoadCandidate>> = []
    // Reused by every decision too (one runs at a time and none keeps them): no array per pick.
    const candidates: Array<Endpoint.EndpointRecord> = []
    const available: Array<Endpoint.EndpointRecord> = []
    const free: Array<Endpoint.EndpointRecord> = []
    const unsaturated: Array<Endpoint.EndpointRecord> = []
    const byShare: Array<Mutable<Routing.ShareCandidate>> = []
    const byPriority: Array<Mutable<Routing.PriorityCandidate>> = []

    const inflight = new Map<string, number>()
    const queue: Array<Waiter> = []
    let turn = 0
    let closed = false

    const inflightOf = (endpointId: string) => inflight.get(endpointId) ?? 0
    const isFull = (e: Endpoint.EndpointRecord) => e.max_concurrent > 0 && inflightOf(e.id) >= e.max_concurrent

    /** Percentage mode: credit endpoints that just became available so they get no catch-up burst. */
    const creditReturning = (block: BlockShares, available: ReadonlyArray<Endpoint.EndpointRecord>, estimate: number) => {
      let returning = false
      for (const e of available) if (!block.present.has(e.id)) returning = true
      if (returning && block.present.size > 0) {
        const d = Routing.deficits(available.map((e) => ({ quota: e.token_quota_percent, tokens: shares.tokens(block, e.id) })), estimate)
        const cap = CATCH_UP_REQUESTS * Math.max(block.averageRequest, estimate)
        available.forEach((e, i) => {
          if (!block.present.has(e.id)) shares.credit(block, e.id, Routing.catchUpCredit(d[i]!, cap))
        })
      }
      if (returning || block.present.size !== available.length) block.present = new Set(available.map((e) => e.id))
    }

    /** Fresh engine figures say it is overloaded: its queue is too long or its KV cache nearly full. */
    const saturated = (engine: EngineState | undefined) =>
      engine !== undefined && (engine.queue > config.saturationQueue || engine.kvCacheUsage > 0.9)

    /** Routing mode load: session stickiness, then LoadScore.pickByLoad over the free candidates. */
    const chooseByLoad = (open: ReadonlyArray<Endpoint.EndpointRecord>, work: RequestWork | undefined) => {
      const now = performance.now()
      const session = work?.session
      if (session !== undefined) {
        const id = loads.sessionEndpoint(session)
        if (id !== undefined) {
          for (const e of open) if (e.id === id && !isFull(e)) return e
        }
      }
      free.length = 0
      for (const e of open) if (!isFull(e)) free.push(e)
      const blocks = work?.chain.length ?? 0
      const prompt = work?.promptTokens ?? 0
      for (let i = 0; i < free.length; i++) {
        const e = free[i]!
        const load = loads.of(e.id)
        const engine = engines.fresh(e.id, now)
        const match = blocks === 0 ? 0 : Prefix.matchRatio(load.prefix.matched(work!.chain), blocks)
        const c = scored[i] ??= { saturated: false, match: 0, inflightPromptTokens: 0, uncachedTokens: 0, prefillPerMs: 1, queue: 0, inflight: 0 }
        c.saturated = saturated(engine)
        c.match = match
        c.inflightPromptTokens = load.pendingPromptTokens(now)
        c.uncachedTokens = prompt * (1 - match)
        c.prefillPerMs = load.prefillPerMs
        c.inflight = inflightOf(e.id)
        c.queue = engine !== undefined && !Number.isNaN(engine.queue) ? engine.queue : c.inflight
      }
      scored.length = free.length
      const i = LoadScore.pickByLoad(scored, loadSettings)
      return i === -1 ? undefined : free[i]
    }

    const choose = (
      mode: Endpoint.RoutingMode,
      blockShares: BlockShares,
      open: ReadonlyArray<Endpoint.EndpointRecord>,
      ask: Ask
    ) => {
      const estimate = ask.estimate
      if (mode === "load") return chooseByLoad(open, ask.work)
      if (mode === "priority") {
        if (config.priorityOverflowOnSaturation) {
          // A saturated endpoint overflows to the next priority like a full one; if all are, none is skipped.
          const now = performance.now()
          unsaturated.length = 0
          for (const e of open) if (!saturated(engines.fresh(e.id, now))) unsaturated.push(e)
          if (unsaturated.length > 0) open = unsaturated
        }
        for (let k = 0; k < open.length; k++) {
          const e = open[k]!
          const c = byPriority[k] ??= { priority: 0, inflight: 0, maxConcurrent: 0 }
          c.priority = e.priority_order
          c.inflight = inflightOf(e.id)
          c.maxConcurrent = e.max_concurrent
        }
        byPriority.length = open.length
        const i = Routing.pickByPriority(byPriority, turn++)
        return i === -1 ? undefined : open[i]
      }
      free.length = 0
      for (const e of open) {
        if (isFull(e)) continue
        const c = byShare[free.length] ??= { quota: 0, tokens: 0 }
        c.quota = e.token_quota_percent
        c.tokens = shares.tokens(blockShares, e.id)
        free.push(e)
      }
      byShare.length = free.length
      const i = Routing.pickByDeficit(byShare, estimate)
      return i === -1 ? undefined : free[i]
    }

    /** One routing decision now: a lease, a refusal, or FULL (wait for a slot). */
    const select = (ask: Ask): Lease | Refusal | typeof FULL => {
      let enabled = 0
      let serving = 0
      candidates.length = 0
      for (const e of topology.wiredEndpoints(ask.block.id)) {
        if (!e.enabled) continue
        enabled++
        if (ask.model !== undefined && !catalog.serves(e, ask.model)) continue
        serving++
        if (ask.exclude === undefined || !ask.exclude.has(e.id)) candidates.push(e)
      }
      if (enabled === 0) return { kind: "no-endpoint" }
      if (serving === 0) return { kind: "no-model" }
      if (candidates.length === 0) return { kind: "exhausted" }

      available.length = 0
      for (const e of candidates) if (cooldowns.canSend(e.id)) available.push(e)
      if (available.length === 0) {
        // Everything is cooling down: probe the one whose cooldown ends first rather than fail.
        const probe = candidates
          .filter((e) => !cooldowns.probing(e.id))
          .sort((a, b) => cooldowns.openUntil(a.id) - cooldowns.openUntil(b.id))[0]
        if (probe === undefined) {
          const soonest = Math.min(...candidates.map((e) => cooldowns.view(e.id).remaining_seconds))
          return { kind: "cooling-down", retryAfterSeconds: Math.max(1, Math.ceil(soonest)) }
        }
        available.push(probe)
      }

      const blockShares = shares.block(ask.block.id)
      const mode = topology.effectiveMode(ask.block)
      if (mode === "percentage") creditReturning(blockShares, available, ask.estimate)
      const endpoint = choose(mode, blockShares, available, ask)
      if (endpoint === undefined) return FULL
      inflight.set(endpoint.id, inflightOf(endpoint.id) + 1)
      cooldowns.onSend(endpoint.id)
      shares.reserve(blockShares, endpoint.id, ask.estimate)
      return { endpoint, shares: blockShares, reserved: ask.estimate, load: ask.work === undefined ? undefined : dispatchLoad(endpoint, ask.work) }
    }

    /** Counts a load-mode request on its endpoint: prefix recorded, prompt and decode tokens in flight. */
    const dispatchLoad = (endpoint: Endpoint.EndpointRecord, work: RequestWork): LeaseLoad => {
      const load = loads.of(endpoint.id)
      const now = performance.now()
      const engine = engines.fresh(endpoint.id, now)
      if (engine !== undefined) {
        const capacity = Prefix.capacityOf(engine.numGpuBlocks, engine.blockSize)
        if (capacity !== load.prefix.capacity && !Number.isNaN(engine.numGpuBlocks)) load.prefix.resize(capacity)
      }
      const blocks = work.chain.length
      const match = blocks === 0 ? 0 : Prefix.matchRatio(load.prefix.matched(work.chain), blocks)
      const uncached = work.promptTokens * (1 - match)
      const seq = load.dispatch(uncached, work.decodeTokens, now)
      const lease: LeaseLoad = { of: load, uncached, at: now, seq, decode: work.decodeTokens, prefilling: true }
      load.prefix.record(work.chain)
      if (work.session !== undefined) loads.stick(work.session, endpoint.id)
      return lease
    }

    /**
     * The request's prefill is over (its first streamed token, or the end of a whole answer): its
     * prompt tokens leave the endpoint's in-flight count; a first token (`ttftMs` given) teaches the
     * endpoint's prefill rate (EndpointLoads.prefillDone).
     */
    const prefillDone = (lease: Lease, ttftMs?: number) => {
      const load = lease.load
      if (load === undefined || !load.prefilling) return
      load.prefilling = false
      loads.prefillDone(load.of, load.seq, load.uncached, load.at, performance.now(), ttftMs !== undefined)
    }

    /**
     * Serves waiters in order. A waiter that finds its block full for its model marks that pair full for
     * the rest of the pass (later waiters of the pair would find the same), unless it excludes endpoints
     * (a failover retry), whose answer says nothing for others.
     */
    const drain = () => {
      if (queue.length === 0) return
      let full: Set<string> | undefined
      for (let i = 0; i < queue.length;) {
        const waiter = queue[i]!
        const pair = waiter.exclude === undefined ? `${waiter.block.id}\n${waiter.model ?? ""}` : undefined
        if (pair !== undefined && full?.has(pair)) {
          i++
          continue
        }
        const result = select(waiter)
        if (result === FULL) {
          if (pair !== undefined) (full ??= new Set()).add(pair)
          i++
          continue
        }
        queue.splice(i, 1)
        clearTimeout(waiter.timer)
        waiter.resolve(result)
      }
    }

    topology.onChange(() => {
      // Per-endpoint state of what was deleted goes with it; waiters may now fit.
      const endpointIds = new Set(topology.endpoints().map((e) => e.id))
      cooldowns.retain(endpointIds)
      loads.retain(endpointIds)
      shares.retain(new Set(topology.blocks().map((b) => b.id)), endpointIds)
      drain()
    })

    /**
     * A lease on the best endpoint for the request, waiting in the queue while all candidates are full.
     * Excluded endpoints (tried already) are skipped.
     */
    const acquire = (
      block: BlockView,
      model: string | undefined,
      estimate: number,
      exclude?: ReadonlySet<string>,
      work?: RequestWork
    ): Lease | Refusal | Queued => {
      if (closed) return { kind: "shutting-down" }
      const ask: Ask = { block, model, estimate, exclude, work }
      const result = select(ask)
      if (result !== FULL) return result
      if (queue.length >= config.queueMax) return { kind: "queue-full" }
      let waiter: Waiter
      /** Takes the waiter out of the queue, if it is still there, with this refusal. */
      const withdraw = (refusal: Refusal) => {
        const at = queue.indexOf(waiter)
        if (at === -1) return
        queue.splice(at, 1)
        clearTimeout(waiter.timer)
        waiter.resolve(refusal)
      }
      const promise = new Promise<Lease | Refusal>((resolve) => {
        waiter = {
          ...ask,
          resolve,
          timer: setTimeout(() => withdraw({ kind: "queue-timeout" }), config.queueTimeoutSeconds * 1000)
        }
        queue.push(waiter)
      })
      return Object.assign(promise, { cancel: () => withdraw({ kind: "cancelled" }) })
    }

    const release = (lease: Lease, verdict: Verdict) => {
      const id = lease.endpoint.id
      const n = inflightOf(id) - 1
      if (n > 0) inflight.set(id, n)
      else inflight.delete(id)
      if (lease.load !== undefined) {
        prefillDone(lease)
        lease.load.of.inflightDecodeTokens = Math.max(0, lease.load.of.inflightDecodeTokens - lease.load.decode)
      }
      shares.settle(lease.shares, id, lease.reserved, verdict.tokens)
      if (verdict.kind === "success") cooldowns.onSuccess(id)
      else if (verdict.kind === "failure") cooldowns.onFailure(id, verdict.retryAfterMs)
      else cooldowns.onAbandon(id)
      drain()
    }

    /** Shutdown: queued requests are refused, and so is every new one. */
    const close = () => {
      closed = true
      for (const waiter of queue.splice(0)) {
        clearTimeout(waiter.timer)
        waiter.resolve({ kind: "shutting-down" })
      }
    }

    const totalInflight = () => {
      let total = 0
      for (const n of inflight.values()) total += n
      return total
    }

    return {
      acquire,
      prefillDone,
      release,
      close,
      inflight: inflightOf,
      totalInflight,
      queueDepth: () => queue.length
    } as const
  })
}) {}
