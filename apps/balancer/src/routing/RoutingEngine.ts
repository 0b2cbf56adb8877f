/**
 * Picks the endpoint for a request and tracks what is in flight. For now: the least-loaded connected,
 * enabled endpoint (round-robin among equals); percentage and priority routing replace the choice
 * behind this same interface.
 */
import type { Endpoint } from "@llmlb/core"
import { Effect } from "effect"
import { Topology } from "../store/Topology.js"

export class RoutingEngine extends Effect.Service<RoutingEngine>()("RoutingEngine", {
  effect: Effect.gen(function*() {
    const topology = yield* Topology
    const inflight = new Map<string, number>()
    let turn = 0

    const inflightOf = (endpointId: string) => inflight.get(endpointId) ?? 0

    /** The connected, enabled endpoints: those wired to the incoming node. */
    const candidates = () => topology.endpoints().filter((e) => e.enabled && e.connected)

    /** Reserves a slot on the chosen endpoint; the caller must `release` it exactly once. */
    const pick = (): Endpoint.EndpointRecord | undefined => {
      const all = candidates()
      if (all.length === 0) return undefined
      turn = (turn + 1) % all.length
      let best: Endpoint.EndpointRecord | undefined
      let bestLoad = Infinity
      for (let i = 0; i < all.length; i++) {
        const endpoint = all[(turn + i) % all.length]!
        const load = inflightOf(endpoint.id)
        if (load < bestLoad) {
          best = endpoint
          bestLoad = load
        }
      }
      inflight.set(best!.id, bestLoad + 1)
      return best
    }

    const release = (endpointId: string) => {
      const n = inflightOf(endpointId) - 1
      if (n > 0) inflight.set(endpointId, n)
      else inflight.delete(endpointId)
    }

    const totalInflight = () => {
      let total = 0
      for (const n of inflight.values()) total += n
      return total
    }

    return { candidates, pick, release, inflight: inflightOf, totalInflight } as const
  })
}) {}
