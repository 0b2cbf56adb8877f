/**
 * Routing mode `load`, as a pure function over plain numbers (DESIGN.md, "Routing mode load").
 *
 * Among the candidates (already wired, enabled, serving the model, not cooling down, below
 * max_concurrent): a saturated one is never chosen while an unsaturated one exists. Each has an
 * estimated time to first token, (the uncached prompt tokens it still has to prefill + this request's
 * uncached tokens) / its prefill rate: when its backlog will be done, then this request's prefill. Those whose prefix match reaches `minMatch` are preferred unless their
 * estimate exceeds the best other's by more than `maxPenaltyMs`; otherwise the lowest estimate wins.
 * Ties go to the shorter engine queue, then the fewer in-flight requests.
 */

export interface LoadCandidate {
  /** Fresh engine queue above the limit, or fresh KV cache usage above 0.9. */
  readonly saturated: boolean
  /** Leading share of the request's prompt blocks this endpoint has cached, 0..1. */
  readonly match: number
  /** Uncached prompt tokens of its requests still to prefill (less what it prefilled since its last progress). */
  readonly inflightPromptTokens: number
  /** This request's prompt tokens that it would have to prefill: prompt x (1 - match). */
  readonly uncachedTokens: number
  /** Learned prefill rate, tokens per millisecond (> 0). */
  readonly prefillPerMs: number
  /** The engine's waiting queue when fresh, else the router's in-flight requests to it. */
  readonly queue: number
  readonly inflight: number
}

export interface LoadSettings {
  /** LB_AFFINITY_MIN_MATCH */
  readonly minMatch: number
  /** LB_AFFINITY_MAX_PENALTY_MS */
  readonly maxPenaltyMs: number
}

/** Estimated milliseconds until this request's first token on the candidate. */
export const estimatedTtftMs = (c: LoadCandidate): number => (c.inflightPromptTokens + c.uncachedTokens) / c.prefillPerMs

/** Whether `a` beats `b`: lower estimate, then shorter queue, then fewer in flight. */
const better = (a: LoadCandidate, ta: number, b: LoadCandidate, tb: number): boolean =>
  ta !== tb ? ta < tb : a.queue !== b.queue ? a.queue < b.queue : a.inflight < b.inflight

/**
 * Index of the candidate routing mode `load` chooses (-1 when there is none). Allocation-free: one pass
 * over the candidates.
 */
export const pickByLoad = (candidates: ReadonlyArray<LoadCandidate>, settings: LoadSettings): number => {
  let anyUnsaturated = false
  for (let i = 0; i < candidates.length; i++) {
    if (!candidates[i]!.saturated) {
      anyUnsaturated = true
      break
    }
  }
  let bestAffine = -1
  let bestAffineTtft = Infinity
  let bestOther = -1
  let bestOtherTtft = Infinity
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!
    if (anyUnsaturated && c.saturated) continue
    const t = estimatedTtftMs(c)
    if (c.match >= settings.minMatch && c.match > 0) {
      if (bestAffine === -1 || better(c, t, candidates[bestAffine]!, bestAffineTtft)) {
        bestAffine = i
        bestAffineTtft = t
      }
    } else if (bestOther === -1 || better(c, t, candidates[bestOther]!, bestOtherTtft)) {
      bestOther = i
      bestOtherTtft = t
    }
  }
  if (bestAffine === -1) return bestOther
  if (bestOther === -1 || bestAffineTtft <= bestOtherTtft + settings.maxPenaltyMs) return bestAffine
  return bestOther
}
