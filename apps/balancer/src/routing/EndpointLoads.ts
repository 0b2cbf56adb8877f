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
  inflightPromptTokens = 0
  inflightDecodeTokens = 0
  readonly prefix = new Prefix.PrefixSet()
  /** Exponentially weighted sums of the (tokens, TTFT ms) samples, for the least-squares line. */
  sw = 0
  sx = 0
  sy = 0
  sxx = 0
  sxy = 0
  constructor(public prefillPerMs: number) {}
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
       * Learns from one first token: `tokens` had to be prefilled before it (what was in flight at
       * dispatch plus its own uncached part) and it came after `ttftMs`. The rate is the slope of an
       * exponentially weighted least-squares line ttft = overhead + tokens / rate: a plain ratio would
       * count the fixed part of every TTFT (network, scheduling) as prefill time, which makes fast
       * endpoints, whose prefills are short, look slower than they are.
       */
      learn: (load: EndpointLoad, tokens: number, ttftMs: number) => {
        if (!(ttftMs > 0) || !(tokens >= 0)) return
        load.sw = load.sw * DECAY + 1
        load.sx = load.sx * DECAY + tokens
        load.sy = load.sy * DECAY + ttftMs
        load.sxx = load.sxx * DECAY + tokens * tokens
        load.sxy = load.sxy * DECAY + tokens * ttftMs
        if (load.sw < MIN_WEIGHT) return
        const spread = load.sw * load.sxx - load.sx * load.sx
        // Samples of (nearly) one size say nothing of the slope.
        if (!(spread > 0.01 * load.sw * load.sxx)) return
        const msPerToken = (load.sw * load.sxy - load.sx * load.sy) / spread
        if (msPerToken > 0) load.prefillPerMs = 1 / msPerToken
      },
      /** Forgets endpoints that no longer exist, and sessions pointing at them. */
      retain: (endpointIds: ReadonlySet<string>) => {
        for (const id of loads.keys()) if (!endpointIds.has(id)) loads.delete(id)
        for (const [session, id] of sessions) if (!endpointIds.has(id)) sessions.delete(session)
      }
    } as const
  })
}) {}
