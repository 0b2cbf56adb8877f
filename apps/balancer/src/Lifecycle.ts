/**
 * Whether the balancer is shutting down. Once draining: /health answers 503, new and queued proxy
 * requests get 503, and in-flight ones may finish (LB_DRAIN_TIMEOUT_SECONDS).
 */
import { Effect } from "effect"

export class Lifecycle extends Effect.Service<Lifecycle>()("Lifecycle", {
  sync: () => {
    let draining = false
    return {
      draining: () => draining,
      startDraining: () => {
        draining = true
      }
    } as const
  }
}) {}
