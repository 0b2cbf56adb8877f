/**
 * Persistence of the cumulative stats (DESIGN.md "Observability"): restored into Stats at start, the
 * changed counters written every LB_STATS_FLUSH_SECONDS and at shutdown, off the hot path. Also owns
 * reset-stats, which zeroes memory, the database and the token-share windows.
 */
import { Duration, Effect } from "effect"
import { LbConfig } from "../Config.js"
import { TokenShares } from "../routing/TokenShares.js"
import { StatsRepo } from "../store/StatsRepo.js"
import { Topology } from "../store/Topology.js"
import { flushInBackground } from "./Background.js"
import { Stats } from "./Stats.js"

export class StatsStore extends Effect.Service<StatsStore>()("StatsStore", {
  scoped: Effect.gen(function*() {
    const { statsFlushSeconds } = yield* LbConfig
    const stats = yield* Stats
    const repo = yield* StatsRepo
    const topology = yield* Topology
    const shares = yield* TokenShares
    // A flush and a reset never interleave: a flush that read the counters before a reset would
    // write them back after it.
    const lock = yield* Effect.makeSemaphore(1)

    stats.restore(yield* repo.list)

    /** A deleted endpoint's row goes with it (ON DELETE CASCADE); its counters go here. */
    const forgetDeleted = () => stats.retain(new Set(topology.endpoints().map((e) => e.id)))
    yield* Effect.acquireRelease(
      Effect.sync(() => topology.onChange(forgetDeleted)),
      (unsubscribe) => Effect.sync(unsubscribe)
    )

    const flush = Effect.suspend(() => {
      forgetDeleted()
      return repo.upsert(stats.takeChanged())
    }).pipe(lock.withPermits(1))
    yield* flushInBackground("stats", flush, Duration.seconds(statsFlushSeconds))

    return {
      /** reset-stats: every counter and rate starts over, and so do the token-share windows. */
      reset: Effect.sync(() => {
        stats.reset()
        shares.reset()
      }).pipe(Effect.zipRight(repo.clear), lock.withPermits(1))
    } as const
  })
}) {}
