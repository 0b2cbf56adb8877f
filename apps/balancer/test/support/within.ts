/**
 * Waiting on a condition instead of sleeping a fixed time: tests that assert "within N ms" poll.
 */
import { Duration, Effect } from "effect"

/** How long until `check` holds, polling every 20 ms for at most `limitMs`; fails past it. */
export const within = (limitMs: number, check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const start = performance.now()
    while (performance.now() - start < limitMs) {
      if (yield* check) return performance.now() - start
      yield* Effect.sleep(Duration.millis(20))
    }
    return yield* Effect.die(new Error(`not within ${limitMs} ms`))
  })
