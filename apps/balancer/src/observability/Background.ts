/**
 * Write-behind for what the hot path and the admin API only record in memory (stats, audit entries):
 * a fiber flushes it every `interval`, and once more when the scope closes. The layers that use this
 * sit above the database's, so the last flush runs while the database is still open.
 */
import { Duration, Effect } from "effect"

export const flushInBackground = (name: string, flush: Effect.Effect<void>, interval: Duration.DurationInput) =>
  Effect.gen(function*() {
    // A flush is never cut in half: what it took from memory reaches the database.
    const once = flush.pipe(
      Effect.catchAllCause((cause) => Effect.logError(`${name}: flush failed`, cause)),
      Effect.uninterruptible
    )
    // Finalizers run last-in first-out: the fiber below is stopped first, then this last flush runs.
    yield* Effect.addFinalizer(() => once)
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(interval), once)))
  })
