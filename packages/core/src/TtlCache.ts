/**
 * An LRU cache whose entries also expire after a TTL, bounded in entries and in total bytes.
 * Time is passed in (milliseconds) so the caller owns the clock.
 */
export interface TtlCacheOptions {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly ttlMs: number
}

interface Entry<V> {
  readonly value: V
  readonly bytes: number
  readonly expiresAt: number
}

export class TtlCache<V> {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  private readonly entries = new Map<string, Entry<V>>()
  private totalBytes = 0

  constructor(private readonly options: TtlCacheOptions) {}

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.totalBytes
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.entries.delete(key)
    if (entry.expiresAt <= now) {
      this.totalBytes -= entry.bytes
      return undefined
    }
    this.entries.set(key, entry)
    return entry.value
  }

  /**
   * Stores a value of the given size; false when it is not kept because it would take more than a
   * tenth of the byte bound (one large answer must not flush the cache).
   */
  set(key: string, value: V, bytes: number, now: number): boolean {
    if (this.options.maxEntries <= 0 || bytes > this.options.maxBytes / 10) return false
    this.delete(key)
    this.entries.set(key, { value, bytes, expiresAt: now + this.options.ttlMs })
    this.totalBytes += bytes
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.totalBytes <= this.options.maxBytes) break
      this.entries.delete(oldest)
      this.totalBytes -= entry.bytes
    }
    return true
  }

  delete(key: string): void {
    const entry = this.entries.get(key)
    if (entry !== undefined) {
      this.entries.delete(key)
      this.totalBytes -= entry.bytes
    }
  }

  clear(): void {
    this.entries.clear()
    this.totalBytes = 0
  }
}

/** JSON with object keys sorted at every level: equal values give equal text, whatever the key order. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}
