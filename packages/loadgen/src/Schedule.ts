/**
 * Arrival schedules: the intended send times of a rate run, from a seeded RNG so that a run with the
 * same `seed` sends on the same schedule. Pure: no clock, no I/O. Times are seconds from the run's start;
 * the first request is due at 0, as vLLM sends its first one at once.
 */

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
export const makeRng = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Exp(1): the gap of a unit-rate Poisson process. */
const standardExponential = (rng: () => number): number => -Math.log(1 - rng())

/** N(0, 1) by Box-Muller (one of the pair; simplicity over speed, the schedule is not a hot path). */
const standardNormal = (rng: () => number): number => {
  const u = 1 - rng()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng())
}

/**
 * Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1) * U^(1/shape).
 * Shape 1 is Exp(1) exactly, as numpy's gamma does, so burstiness 1 is the Poisson schedule.
 */
export const standardGamma = (rng: () => number, shape: number): number => {
  if (shape === 1) return standardExponential(rng)
  if (shape < 1) return standardGamma(rng, shape + 1) * Math.pow(1 - rng(), 1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      x = standardNormal(rng)
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = rng()
    if (u < 1 - 0.0331 * x * x * x * x) return d * v
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
  }
}

/** A lazily generated, deterministic sequence of intended send times; `null` = no more arrivals. */
export interface Arrivals {
  next(): number | null
}

export interface RateShape {
  /** Requests per second (the final rate of a ramp). */
  readonly rate: number
  /** Gamma shape: 1 = Poisson; below 1 burstier, above 1 more regular (vLLM's `--burstiness`). */
  readonly burstiness: number
  /** Constant intervals of 1/rate instead of random gaps. */
  readonly interval: boolean
  /** A linear ramp of the rate from `from` to `rate` over `seconds`, then `rate`. */
  readonly ramp?: { readonly from: number; readonly seconds: number }
  readonly seed: number
}

/**
 * Gaps of mean 1 (unit-rate time), then mapped to real time. A constant rate divides by the rate; a ramp
 * inverts the integrated rate Lambda(t) = from*t + (to-from)*t^2/(2T), so the schedule is an
 * inhomogeneous process whose rate grows linearly (Poisson, gamma or regular as asked).
 */
export const rateArrivals = (shape: RateShape): Arrivals => {
  const rng = makeRng(shape.seed)
  const unitGap = shape.interval ?
    () => 1 :
    () => standardGamma(rng, shape.burstiness) / shape.burstiness
  const toTime = shape.ramp === undefined ? constantTime(shape.rate) : rampTime(shape.ramp.from, shape.rate, shape.ramp.seconds)
  let s = 0
  let first = true
  return {
    next() {
      if (first) first = false
      else s += unitGap()
      return toTime(s)
    }
  }
}

const constantTime = (rate: number) => (s: number): number => s / rate

const rampTime = (from: number, to: number, seconds: number) => {
  const a = (to - from) / (2 * seconds)
  const end = from * seconds + a * seconds * seconds
  return (s: number): number | null => {
    if (s === 0) return 0 // the first arrival (and no 0/0 when the ramp starts from 0)
    if (s > end) return to > 0 ? seconds + (s - end) / to : null
    if (a === 0) return s / from
    // a*t^2 + from*t - s = 0, the root in [0, seconds]; written to stay exact when from = 0
    return (2 * s) / (from + Math.sqrt(from * from + 4 * a * s))
  }
}

/** The ramp time of a rate ramp bounded only by a request count: the time in which n arrivals are expected. */
export const rampSecondsForRequests = (from: number, to: number, n: number): number => (2 * n) / (from + to)

/** The concurrency target of a concurrency ramp at `t` seconds: linear, rounded, at least 1. */
export const rampConcurrency = (from: number, to: number, seconds: number, t: number): number =>
  Math.max(1, Math.round(from + (to - from) * Math.min(1, Math.max(0, t / seconds))))

/** Every `n`-th arrival of `arrivals` from index `i`: the share of one worker thread of one schedule. */
export const everyNth = (arrivals: Arrivals, n: number, i: number): Arrivals => {
  let index = 0
  return {
    next() {
      for (;;) {
        const t = arrivals.next()
        if (t === null) return null
        if (index++ % n === i) return t
      }
    }
  }
}
