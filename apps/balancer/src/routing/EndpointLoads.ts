/**
 * The router's own view of each endpoint's load (routing mode `load`), exact and immediate unlike a
 * scrape: uncached prompt tokens still in prefill (added at dispatch, released at the first streamed
 * token or the end of a whole answer), decode tokens still to generate, the prefill rate learned from
 * what it observed, and the LRU set of prompt blocks it was sent. Plus the session -> endpoint map of
 * LB_SESSION_HEADER. Plain Node, synchronous: called from the routing decision.
 */
import { Prefix } from "@llmlb/core"
import { Effect } from "effect"
import { LbConfig } from "../Config.js"

export class EndpointLoad {
  /** Uncached prompt tokens of its requests whose first token has not come yet. */
  inflightPromptTokens = 0
  inflightDecodeTokens = 0
  /**
   * performance.now() since which the engine has been prefilling the oldest of those: the last first
   * token (the engine then went on with the next), or the dispatch that found it idle.
   */
  progressAt = 0
  /** performance.now() of the last first token, the earliest its next prefill can have started. */
  lastFirstTokenAt = 0
  /**
   * Those requests in dispatch order, a ring indexed by sequence number (`head` the oldest not done,
   * `tail` the next): each one's uncached tokens and whether its prefill is over (first tokens may come
   * out of order). Grows by doubling, so a dispatch allocates nothing in the steady state.
   */
  private sizes = new Float64Array(16)
  private done = new Uint8Array(16)
  private head = 0
  private tail = 0
  readonly prefix = new Prefix.PrefixSet()
  /** Exponentially weighted sums of the (tokens, prefill ms) samples, for the least-squares line. */
  sw = 0
  sx = 0
  sy = 0
  sxx = 0
  sxy = 0
  constructor(public prefillPerMs: number) {}

  /**
   * Uncached prompt tokens still to prefill at `now`: the in-flight ones less what the engine prefilled
   * since it last made visible progress, at the learned rate, and at most the oldest request's (the next
   * ones wait for it: an engine running late behind a backlog does not look idle). Counting a half-done
   * prefill at its full size made a busy endpoint look later than it is, the slower one the most.
   * O(1), no allocation.
   */
  pendingPromptTokens(now: number): number {
    if (this.head === this.tail) return this.inflightPromptTokens
    const oldest = this.sizes[this.head & (this.sizes.length - 1)]!
    const progress = (now - this.progressAt) * this.prefillPerMs
    const left = this.inflightPromptTokens - (progress < oldest ? progress : oldest)
    return left > 0 ? left : 0
  }

  /** A request with `uncached` tokens to prefill was sent to it at `now`; returns its sequence number. */
  dispatch(uncached: number, decode: number, now: number): number {
    // An idle engine starts on it at once; a busy one carries on with what it has.
    if (this.head === this.tail) this.progressAt = now
    if (this.tail - this.head === this.sizes.length) this.grow()
    const at = this.tail & (this.sizes.length - 1)
    this.sizes[at] = uncached
    this.done[at] = 0
    this.inflightPromptTokens += uncached
    this.inflightDecodeTokens += decode
    return this.tail++
  }

  /** The prefill of request `seq` is over: its tokens leave the count, the oldest moves on. */
  finishPrefill(seq: number, uncached: number): void {
    this.inflightPromptTokens = Math.max(0, this.inflightPromptTokens - uncached)
    if (seq < this.head || seq >= this.tail) return
    const mask = this.sizes.length - 1
    this.done[seq & mask] = 1
    while (this.head < this.tail && this.done[this.head & mask] === 1) this.head++
  }

  private grow(): void {
    const n = this.sizes.length
    const sizes = new Float64Array(n * 2)
    const done = new Uint8Array(n * 2)
    for (let s = this.head; s < this.tail; s++) {
      sizes[s & (n * 2 - 1)] = this.sizes[s & (n - 1)]!
      done[s & (n * 2 - 1)] = this.done[s & (n - 1)]!
    }
    this.sizes = sizes
    this.done = done
  }
}

/** What a request brings to routing mode `load`. */
export interface RequestWork {
  /** Block hash chain of its prompt (PrefixHash.chainOf). */
  readonly chain: ReadonlyArray<number>
  readonly promptTokens: number
  /** Completion tokens it may generate (max_tokens or the default). */
  readonly decodeTokens: number
  /** Its LB_SESSION_HEADER value, if any. */
  readonly session: string | undefined
}

/** Each sample's weight decays by this factor per later sample: about the last 50 samples count. */
const DECAY = 0.98
/** The seeded rate is kept until this much (decayed) weight of samples has been seen. */
const MIN_WEIGHT = 8
/** Sessions remembered at most; the oldest are forgotten first. */
const MAX_SESSIONS = 100_000

export class EndpointLoads extends Effect.Service<EndpointLoads>()("EndpointLoads", {
  effect: Effect.gen(function*() {
    const config = yield* LbConfig
    const seedPerMs = config.prefillTokensPerSecond / 1000
    const loads = new Map<string, EndpointLoad>()
    const sessions = new Map<string, string>()

    /**
     * Learns from one prefill: `tokens` took `ms`. The rate is the slope of an exponentially weighted
     * least-squares line ms = overhead + tokens / rate: a plain ratio would count the fixed part of every
     * measurement (network, scheduling) as prefill time, which makes fast endpoints, whose prefills are
     * short, look slower than they are.
     */
    const learn = (load: EndpointLoad, tokens: number, ms: number) => {
      if (!(ms > 0) || !(tokens >= 0)) return
      load.sw = load.sw * DECAY + 1
      load.sx = load.sx * DECAY + tokens
      load.sy = load.sy * DECAY + ms
      load.sxx = load.sxx * DECAY + tokens * tokens
      load.sxy = load.sxy * DECAY + tokens * ms
      if (load.sw < MIN_WEIGHT) return
      const spread = load.sw * load.sxx - load.sx * load.sx
      // Samples of (nearly) one size say nothing of the slope.
      if (!(spread > 0.01 * load.sw * load.sxx)) return
      const msPerToken = (load.sw * load.sxy - load.sx * load.sy) / spread
      if (msPerToken > 0) load.prefillPerMs = 1 / msPerToken
    }

    const of = (endpointId: string) => {
      let load = loads.get(endpointId)
      if (load === undefined) {
        load = new EndpointLoad(seedPerMs)
        loads.set(endpointId, load)
      }
      return load
    }

    return {
      of,
      /** The endpoint that served this session last, if any. */
      sessionEndpoint: (session: string) => sessions.get(session),
      /** Remembers where a session went (most recent last, so the oldest go first). */
      stick: (session: string, endpointId: string) => {
        sessions.delete(session)
        sessions.set(session, endpointId)
        if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!)
      },
      /**
       * A request's prefill is over at `now` (`firstToken`: its first streamed token came; otherwise the
       * whole answer or an error ended it, which says nothing of when its prefill ended). Its tokens leave
       * the in-flight count. A first token also restarts the progress clock (the engine goes on with the
       * next prefill) and teaches the rate: the request occupied the prefill from its dispatch, or from
       * the previous first token if that came later (engines prefill in arrival order), until now.
       */
      prefillDone: (load: EndpointLoad, seq: number, uncached: number, dispatchedAt: number, now: number, firstToken: boolean) => {
        load.finishPrefill(seq, uncached)
        if (!firstToken) return
        learn(load, uncached, now - Math.max(dispatchedAt, load.lastFirstTokenAt))
        load.lastFirstTokenAt = now
        load.progressAt = now
      },
      learn,
      /** Forgets endpoints that no longer exist, and sessions pointing at them. */
      retain: (endpointIds: ReadonlySet<string>) => {
        for (const id of loads.keys()) if (!endpointIds.has(id)) loads.delete(id)
        for (const [session, id] of sessions) if (!endpointIds.has(id)) sessions.delete(session)
      }
    } as const
  })
}) {}
