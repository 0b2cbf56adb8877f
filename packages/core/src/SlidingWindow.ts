/**
 * Counts events in 1-second buckets over the last N seconds (tok/s, req/s). A fixed ring of numbers:
 * adding and reading allocate nothing. Time is passed in (milliseconds) so the caller owns the clock.
 *
 * A running total of the window ending at the latest second seen (`head`) makes `add` and `sum`
 * amortised O(1): as time advances, the buckets that leave the window are subtracted one second at a
 * time (at most `seconds` steps, however far time jumps). Only a read of an earlier second than one
 * already seen (a clock that went back) scans the ring instead.
 */
export class SlidingWindow {
  private readonly buckets: Float64Array
  /** The second each bucket counts; NaN for none. Never later than `head`. */
  private readonly stamps: Float64Array
  /** The latest second added or read. */
  private head = -Infinity
  /** The sum of the buckets whose second is inside the window ending at `head`. */
  private total = 0

  constructor(readonly seconds: number) {
    this.buckets = new Float64Array(seconds)
    this.stamps = new Float64Array(seconds).fill(NaN)
  }

  private slot(second: number): number {
    return ((second % this.seconds) + this.seconds) % this.seconds
  }

  /** Moves `head` on to `second` (if later), taking the buckets that leave the window out of the total. */
  private advance(second: number): void {
    if (second <= this.head) return
    if (second - this.head >= this.seconds) {
      this.total = 0 // every bucket has left (and no rounding is left behind)
    } else {
      // The seconds head - seconds + 1 .. second - seconds leave.
      for (let s = this.head - this.seconds + 1; s <= second - this.seconds; s++) {
        const slot = this.slot(s)
        if (this.stamps[slot] === s) this.total -= this.buckets[slot]!
      }
    }
    this.head = second
  }

  add(nowMs: number, amount: number): void {
    const second = Math.floor(nowMs / 1000)
    this.advance(second)
    const oldest = this.head - this.seconds + 1
    const slot = this.slot(second)
    const stamp = this.stamps[slot]!
    if (stamp !== second) {
      if (stamp >= oldest) this.total -= this.buckets[slot]!
      this.stamps[slot] = second
      this.buckets[slot] = 0
    }
    this.buckets[slot]! += amount
    if (second >= oldest) this.total += amount
  }

  /** The total over the last `seconds` whole seconds, the current one included. */
  sum(nowMs: number): number {
    const second = Math.floor(nowMs / 1000)
    if (second >= this.head) {
      this.advance(second)
      return this.total
    }
    // The clock went back: count every bucket from the window's start on, as a scan always did.
    const oldest = second - this.seconds + 1
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
      const slot = this.slot(second)
      if (this.stamps[slot] !== second) continue
      total -= this.buckets[slot]!
      if (total < limit) return (second + this.seconds) * 1000 - nowMs
    }
    return this.seconds * 1000
  }

  clear(): void {
    this.buckets.fill(0)
    this.stamps.fill(NaN)
    this.head = -Infinity
    this.total = 0
  }
}
