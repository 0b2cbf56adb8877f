/**
 * Persistence of the cumulative stats (DESIGN.md "Observability"): restored into Stats at start, the
 * changed counters written every LB_STATS_FLUSH_SECONDS and at shutdown, off the hot path. Also owns
 * reset-stats, which zeroes memory, the database and the token-share windows.
 */
import { Duration, Effect, Option } from "effect"
import { LbConfig } from "../Config.js"
import { TokenShares } from "../routing/TokenShares.js"
import { COUNTERS, type EndpointCounters, StatsRepo } from "../store/StatsRepo.js"
import { Topology } from "../store/Topology.js"
import { flushInBackground } from "./Background.js"
import { Stats } from "./Stats.js"

const ZERO: EndpointCounters = {
  endpoint_id: "",
  requests: 0,
  failures: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  estimated_tokens: 0,
  latency_seconds: 0
}
const combine = (sign: 1 | -1) => (a: EndpointCounters, b: EndpointCounters | undefined): EndpointCounters => {
  const out: Record<string, number | string> = { endpoint_id: a.endpoint_id }
  for (const field of COUNTERS) out[field] = a[field] + sign * (b?.[field] ?? 0)
  return out as unknown as EndpointCounters
}
const plus = combine(1)
const minus = combine(-1)

export class StatsStore extends Effect.Service<StatsStore>()("StatsStore", {
  scoped: Effect.gen(function*() {
    const { databaseUrl, statsFlushSeconds } = yield* LbConfig
    const stats = yield* Stats
    const repo = yield* StatsRepo
    const topology = yield* Topology
    const shares = yield* TokenShares
    // A flush and a reset never interleave: a flush that read the counters before a reset would
    // write them back after it.
    const lock = yield* Effect.makeSemaphore(1)

    const stored = yield* repo.list
    stats.restore(stored)

    /** A deleted endpoint's row goes with it (ON DELETE CASCADE); its counters go here. */
    const forgetDeleted = () => stats.retain(new Set(topology.endpoints().map((e) => e.id)))
    yield* Effect.acquireRelease(
      Effect.sync(() => topology.onChange(forgetDeleted)),
      (unsubscribe) => Effect.sync(unsubscribe)
    )

    /** One process owns SQLite: it writes its totals. */
    const writeTotals = Effect.suspend(() => {
      forgetDeleted()
      return repo.upsert(stats.takeChanged())
    })

    /**
     * Several replicas share PostgreSQL: each adds its deltas since the last flush, then takes in the
     * cluster's totals plus what it counted meanwhile. `synced` is, per endpoint, what the database
     * held at the last flush (zero when a reset through another replica removed the row).
     */
    const synced = new Map<string, EndpointCounters>(stored.map((row) => [row.endpoint_id, row]))
    const writeDeltas = Effect.gen(function*() {
      forgetDeleted()
      const taken = stats.takeChanged()
      yield* repo.add(taken.map((now) => minus(now, synced.get(now.endpoint_id))))
      const rows = yield* repo.list
      const byId = new Map(rows.map((row) => [row.endpoint_id, row]))
      const current = new Map(stats.counters().map((c) => [c.endpoint_id, c]))
      const ids = new Set([...byId.keys(), ...synced.keys()])
      const merged: Array<EndpointCounters> = []
      for (const id of ids) {
        const row = byId.get(id) ?? { ...minus(ZERO, undefined), endpoint_id: id }
        const local = current.get(id)
        const flushedLocal = taken.find((c) => c.endpoint_id === id) ?? synced.get(id)
        // What this replica counted after takeChanged is not in the row yet: it stays on top.
        const extra = local === undefined ? undefined : minus(local, flushedLocal)
        merged.push(extra === undefined ? row : plus(row, extra))
        synced.set(id, row)
      }
      stats.restore(merged)
    })

    const flush = (Option.isSome(databaseUrl) ? writeDeltas : writeTotals).pipe(lock.withPermits(1))
    yield* flushInBackground("stats", flush, Duration.seconds(statsFlushSeconds))

    return {
      /** reset-stats: every counter and rate starts over, and so do the token-share windows. */
      reset: Effect.sync(() => {
        stats.reset()
        shares.reset()
        synced.clear()
      }).pipe(Effect.zipRight(repo.clear), lock.withPermits(1))
    } as const
  })
}) {}
