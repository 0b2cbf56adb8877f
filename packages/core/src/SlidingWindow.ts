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

  /**
   * Milliseconds until the sum drops below `limit` as old buckets leave the window (0 if it already
   * is): what a client must wait before one more event fits.
   */
  msUntilBelow(nowMs: number, limit: number): number {
    const current = Math.floor(nowMs / 1000)
    let total = this.sum(nowMs)
    if (total < limit) return 0
    // Buckets leave in order of age: the oldest second leaves at (second + seconds) * 1000.
    for (let age = this.seconds - 1; age >= 0; age--) {
      const second = current - age
      const slot = ((second % this.seconds) + this.seconds) % this.seconds
      if (this.stamps[slot] !== second) continue
      total -= this.buckets[slot]!
      if (total < limit) return (second + this.seconds) * 1000 - nowMs
    }
    return this.seconds * 1000
  }

  clear(): void {
    this.buckets.fill(0)
    this.stamps.fill(-1)
  }
}
