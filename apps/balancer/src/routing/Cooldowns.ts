/**
 * The circuit breaker of every endpoint (packages/core Cooldown), with time from Effect's Clock read
 * synchronously, so the data plane can ask on its hot path and tests can drive it with TestClock.
 */
import { Cooldown } from "@llmlb/core"
import { Effect } from "effect"
import { LbConfig } from "../Config.js"

export class Cooldowns extends Effect.Service<Cooldowns>()("Cooldowns", {
  effect: Effect.gen(function*() {
    const config = yield* LbConfig
    const clock = yield* Effect.clock
    const settings = { threshold: config.failThreshold, cooldownMs: config.cooldownSeconds * 1000 }
    const states = new Map<string, Cooldown.CooldownState>()

    const now = () => clock.unsafeCurrentTimeMillis()
    const of = (id: string) => states.get(id) ?? Cooldown.closed
    const set = (id: string, state: Cooldown.CooldownState) => {
      if (state === Cooldown.closed) states.delete(id)
      else states.set(id, state)
    }

    return {
      canSend: (id: string) => Cooldown.canSend(of(id), now()),
      /** Whether a probe is out for this endpoint. */
      probing: (id: string) => of(id).probing,
      /** When its cooldown ends (0 when it never opened). */
      openUntil: (id: string) => of(id).openUntil,
      onSend: (id: string) => set(id, Cooldown.onSend(of(id), now())),
      onSuccess: (id: string) => set(id, Cooldown.onSuccess(of(id))),
      onFailure: (id: string, retryAfterMs = 0) => set(id, Cooldown.onFailure(of(id), now(), settings, retryAfterMs)),
      onAbandon: (id: string) => set(id, Cooldown.onAbandon(of(id))),
      view: (id: string) => {
        const state = of(id)
        const at = now()
        return {
          active: Cooldown.phase(state, at) === "open",
          remaining_seconds: Cooldown.remainingSeconds(state, at),
          consecutive_failures: state.failures
        }
      },
      /** Forgets the endpoints that no longer exist. */
      retain: (ids: ReadonlySet<string>) => {
        for (const id of states.keys()) if (!ids.has(id)) states.delete(id)
      }
    } as const
  })
}) {}
