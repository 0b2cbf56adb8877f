/**
 * The live view of the balancer (configuration joined with in-flight counts, model lists and stats)
 * that the admin state and /health report.
 */
import type { State } from "@llmlb/api"
import { Endpoint } from "@llmlb/core"
import { Effect } from "effect"
import { Cooldowns } from "../routing/Cooldowns.js"
import { EngineMetrics } from "../routing/EngineMetrics.js"
import { ModelCatalog } from "../routing/ModelCatalog.js"
import { RoutingEngine } from "../routing/RoutingEngine.js"
import { Topology } from "../store/Topology.js"
import { LbConfig } from "../Config.js"
import { Lifecycle } from "../Lifecycle.js"
import { VERSION } from "../Version.js"
import { Stats } from "./Stats.js"

export class LiveState extends Effect.Service<LiveState>()("LiveState", {
  effect: Effect.gen(function*() {
    const topology = yield* Topology
    const lifecycle = yield* Lifecycle
    const routing = yield* RoutingEngine
    const catalog = yield* ModelCatalog
    const stats = yield* Stats
    const cooldowns = yield* Cooldowns
    const engines = yield* EngineMetrics
    const { replicaId } = yield* LbConfig

    const global = () => {
      const { requests, prompt_tokens, completion_tokens, tokens_per_second, requests_per_second } = stats.global()
      return { requests, prompt_tokens, completion_tokens, tokens_per_second, requests_per_second, total_inflight: routing.totalInflight() }
    }

    const state = (): State => ({
      version: VERSION,
      routing_mode: topology.routingMode(),
      incoming_pos: topology.incomingPos(),
      endpoints: topology.endpoints().map((endpoint) => ({
        ...Endpoint.toPublic(endpoint),
        inflight: routing.inflight(endpoint.id),
        cooldown: cooldowns.view(endpoint.id),
        models: catalog.modelsOf(endpoint)?.map((m) => m.id) ?? null,
        engine: engines.view(endpoint.id),
        stats: stats.endpoint(endpoint.id)
      })),
      incoming_blocks: topology.blocks(),
      global: global()
    })

    /** The /health body; `status` is "draining" once shutdown began. */
    const health = () => {
      const endpoints = topology.endpoints()
      const { tokens_per_second, requests_per_second, total_inflight } = global()
      return {
        status: lifecycle.draining() ? "draining" : "ok",
        version: VERSION,
        /** Which replica answered (LB_REPLICA_ID). */
        replica: replicaId,
        endpoints: endpoints.length,
        connected: endpoints.filter((e) => e.connected).length,
        routing_mode: topology.routingMode(),
        tokens_per_second,
        requests_per_second,
        total_inflight
      }
    }

    return { state, health } as const
  })
}) {}
