/**
 * The two routing rules, as pure functions over plain numbers (DESIGN.md, "Traffic model").
 *
 * Percentage: each candidate i has a target share t_i = quota_i / sum of quotas (all zero: equal
 * shares). With T the candidates' tokens (sliding window plus in-flight reservations) and e the new
 * request's estimate, the request goes to the largest deficit t_i * (T + e) - tokens_i: the candidate
 * furthest below its share once this request is counted.
 *
 * Priority: the lowest `priority` group that has a candidate below its concurrency limit; inside it,
 * the least in-flight, ties broken round-robin.
 */

export interface ShareCandidate {
  /** token_quota_percent, 0-100 */
  readonly quota: number
  /** Tokens counted for it in this block's window, plus what its in-flight requests reserved. */
  readonly tokens: number
}

/** Target share of each candidate; quotas are renormalised over the candidates given. */
export const targetShares = (quotas: ReadonlyArray<number>): Array<number> => {
  let sum = 0
  for (const q of quotas) sum += q
  return quotas.map((q) => (sum > 0 ? q / sum : 1 / quotas.length))
}

/** Deficit of each candidate if a request of `estimate` tokens were added to the total. */
export const deficits = (candidates: ReadonlyArray<ShareCandidate>, estimate: number): Array<number> => {
  let total = estimate
  for (const c of candidates) total += c.tokens
  const shares = targetShares(candidates.map((c) => c.quota))
  return candidates.map((c, i) => shares[i]! * total - c.tokens)
}

/**
 * Index of the candidate with the largest deficit (the first among equals; -1 when there is none).
 * Candidates with a zero target are never chosen while one with a positive target exists.
 */
export const pickByDeficit = (candidates: ReadonlyArray<ShareCandidate>, estimate: number): number => {
  const n = candidates.length
  if (n === 0) return -1
  // `deficits` without its arrays (this runs on every routed request), the same arithmetic in the same order.
  let total = estimate
  let sum = 0
  for (let i = 0; i < n; i++) {
    total += candidates[i]!.tokens
    sum += candidates[i]!.quota
  }
  let best = 0
  let bestDeficit = -Infinity
  for (let i = 0; i < n; i++) {
    const c = candidates[i]!
    const deficit = (sum > 0 ? c.quota / sum : 1 / n) * total - c.tokens
    if (i === 0 || deficit > bestDeficit) {
      best = i
      bestDeficit = deficit
    }
  }
  return best
}

/**
 * Tokens to credit an endpoint that comes back (from cooldown, newly enabled or wired) so that its
 * deficit counts for at most `cap` tokens: it then gets no catch-up burst for the time it was away.
 */
export const catchUpCredit = (deficit: number, cap: number): number => (deficit > cap ? deficit - cap : 0)

export interface PriorityCandidate {
  /** priority_order: lower goes first */
  readonly priority: number
  readonly inflight: number
  /** 0 = unlimited */
  readonly maxConcurrent: number
}

export const isFull = (c: { readonly inflight: number; readonly maxConcurrent: number }): boolean =>
  c.maxConcurrent > 0 && c.inflight >= c.maxConcurrent

/**
 * Index of the candidate priority routing chooses, or -1 when every candidate is full. `turn` is a
 * counter the caller increments per request: it rotates the choice among equally loaded equals.
 */
export const pickByPriority = (candidates: ReadonlyArray<PriorityCandidate>, turn: number): number => {
  let bestPriority = Infinity
  for (const c of candidates) if (!isFull(c) && c.priority < bestPriority) bestPriority = c.priority
  if (bestPriority === Infinity) return -1
  let best = -1
  const n = candidates.length
  for (let k = 0; k < n; k++) {
    const i = (turn + k) % n
    const c = candidates[i]!
    if (c.priority !== bestPriority || isFull(c)) continue
    if (best === -1 || c.inflight < candidates[best]!.inflight) best = i
  }
  return best
}
