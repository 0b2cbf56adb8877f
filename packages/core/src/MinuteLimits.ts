/**
 * One requests-per-minute limit for each of many keys (client addresses), in bounded memory: a key
 * idle for a minute is forgotten (its window is empty by then, so nothing is lost), and beyond
 * `maxKeys` the least recently seen key is dropped, so a flood of distinct keys cannot grow the table
 * without bound. Time is passed in (milliseconds).
 */
import { MinuteLimit } from "./RateLimit.js"

const MINUTE_MS = 60_000

interface Entry {
  readonly limit: MinuteLimit
  last: number
}

export class MinuteLimits {
  /** Least recently seen first: every take moves its key to the end. */
  private readonly entries = new Map<string, Entry>()

  constructor(readonly limit: number, readonly maxKeys: number) {}

  /**
   * Counts one request of `key` and answers 0, or refuses it (counting nothing) and answers how many
   * milliseconds it must wait until one more fits (at least 1).
   */
  take(key: string, now: number): number {
    this.forgetIdle(now)
    let entry = this.entries.get(key)
    if (entry === undefined) {
      if (this.entries.size >= this.maxKeys) this.entries.delete(this.entries.keys().next().value!)
      entry = { limit: new MinuteLimit(this.limit), last: now }
    } else {
      this.entries.delete(key)
      entry.last = now
    }
    this.entries.set(key, entry)
    if (entry.limit.allows(now)) {
      entry.limit.add(now, 1)
      return 0
    }
    return Math.max(1, entry.limit.resetMs(now))
  }

  /** How many keys are held. */
  get size(): number {
    return this.entries.size
  }

  /** Drops the keys not seen for a minute: they are at the front, so this stops at the first recent one. */
  private forgetIdle(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.last < MINUTE_MS) return
      this.entries.delete(key)
    }
  }
}
