/**
 * Counts events in 1-second buckets over the last N seconds (tok/s, req/s). A fixed ring of numbers:
 * adding and reading allocate nothing. Time is passed in (milliseconds) so the caller owns the clock.
 */
export class SlidingWindow {
  private readonly buckets: Float64Array
  private readonly stamps: Float64Array

  constructor(readonly seconds: number) {
    this.buckets = new Float64Array(seconds)
    this.stamps = new Float64Array(seconds).fill(-1)
  }

  add(nowMs: number, amount: number): void {
    const second = Math.floor(nowMs / 1000)
    const slot = second % this.seconds
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second
      this.buckets[slot] = 0
    }
    this.buckets[slot]! += amount
  }

  /** The total over the last `seconds` whole seconds, the current one included. */
  sum(nowMs: number): number {
    const oldest = Math.floor(nowMs / 1000) - this.seconds + 1
    let total = 0
    for (let i = 0; i < this.seconds; i++) {
      if (this.stamps[i]! >= oldest) total += this.buckets[i]!
    }
    return total
  }

  /** Events per second averaged over the window. */
  rate(nowMs: number): number {
    return this.sum(nowMs) / this.seconds
  }

  clear(): void {
    this.buckets.fill(0)
    this.stamps.fill(-1)
  }
}
