/**
 * Optimistic edits waiting for the server. Each edit owns the fields it set until its call settles;
 * the live snapshots that keep arriving meanwhile are shown with these fields laid over them, so a
 * snapshot taken before the edit reached the server does not flip the canvas back for a moment.
 */
export const DELETED = "__deleted"

export class Pending {
  private readonly entries = new Map<string, Map<string, { value: unknown; token: number }>>()
  private nextToken = 1

  /** Lays `fields` over the thing named `key`; returns the token that releases them. */
  set(key: string, fields: Record<string, unknown>): number {
    const token = this.nextToken++
    let entry = this.entries.get(key)
    if (entry === undefined) this.entries.set(key, (entry = new Map()))
    for (const [field, value] of Object.entries(fields)) entry.set(field, { value, token })
    return token
  }

  /** Drops the fields `token` still owns (a later edit of the same field keeps its own). */
  release(key: string, token: number): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    for (const [field, held] of entry) if (held.token === token) entry.delete(field)
    if (entry.size === 0) this.entries.delete(key)
  }

  has(key: string, field: string): boolean {
    return this.entries.get(key)?.has(field) ?? false
  }

  value(key: string, field: string): unknown {
    return this.entries.get(key)?.get(field)?.value
  }

  /** `item` with the pending fields of `key` laid over it (the same object when there are none). */
  apply<T extends object>(key: string, item: T): T {
    const entry = this.entries.get(key)
    if (entry === undefined) return item
    const next = { ...item } as Record<string, unknown>
    for (const [field, held] of entry) if (field !== DELETED) next[field] = held.value
    return next as T
  }
}
