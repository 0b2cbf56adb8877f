/**
 * Waiting on a condition instead of sleeping a fixed time: tests that assert "within N ms" poll.
 */
import { Duration, Effect } from "effect"

/**
 * Polls `check` every 20 ms until it holds and answers when the check that held was sent (ms after the
 * start): a request sent by then was served so, however long a loaded machine took to answer it. Fails
 * when no check sent within `limitMs` held.
 */
export const within = (limitMs: number, check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const start = performance.now()
    while (performance.now() - start < limitMs) {
      const sent = performance.now() - start
      if (yield* check) return sent
      yield* Effect.sleep(Duration.millis(20))
    }
    return yield* Effect.die(new Error(`not within ${limitMs} ms`))
  })
