/**
 * Summary statistics with numpy's definitions, as vLLM computes them: the mean, the population standard
 * deviation (`np.std`), and percentiles by linear interpolation between the closest ranks
 * (`np.percentile`'s default). Exact, from every sample.
 */

export interface Summary {
  readonly mean: number
  readonly median: number
  readonly std: number
  readonly p50: number
  readonly p90: number
  readonly p95: number
  readonly p99: number
}

/** The `p`-th percentile (0..100) of ascending `sorted`, numpy's "linear" method; NaN when empty. */
export const percentileOfSorted = (sorted: ArrayLike<number>, p: number): number => {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const rank = (p / 100) * (n - 1)
  const lo = Math.floor(rank)
  const hi = Math.min(lo + 1, n - 1)
  const a = sorted[lo]!
  return a + (sorted[hi]! - a) * (rank - lo)
}

export const sortedCopy = (samples: ReadonlyArray<number>): Float64Array => Float64Array.from(samples).sort()

export const percentile = (samples: ReadonlyArray<number>, p: number): number =>
  percentileOfSorted(sortedCopy(samples), p)

/** All summary figures; every one is 0 when there are no samples, as vLLM reports (`np.mean(x or 0)`). */
export const summarize = (samples: ReadonlyArray<number>): Summary => {
  const n = samples.length
  if (n === 0) return { mean: 0, median: 0, std: 0, p50: 0, p90: 0, p95: 0, p99: 0 }
  let sum = 0
  for (const x of samples) sum += x
  const mean = sum / n
  let squares = 0
  for (const x of samples) squares += (x - mean) * (x - mean)
  const sorted = sortedCopy(samples)
  const p50 = percentileOfSorted(sorted, 50)
  return {
    mean,
    median: p50,
    std: Math.sqrt(squares / n),
    p50,
    p90: percentileOfSorted(sorted, 90),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99)
  }
}
