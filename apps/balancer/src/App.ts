/**
 * The whole balancer as one layer: main.ts launches it, tests build it with their own config.
 * Every service is built once here and shared by the data plane and the control plane.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { LbConfig, warnOfWeakAdminToken } from "./Config.js"
import { Lifecycle } from "./Lifecycle.js"
import { EventTickets } from "./admin/EventTickets.js"
import { ClientAddress } from "./http/ClientAddress.js"
import { Audit } from "./observability/Audit.js"
import { LiveState } from "./observability/LiveState.js"
import { Metrics } from "./observability/Metrics.js"
import { Stats } from "./observability/Stats.js"
import { StatsStore } from "./observability/StatsStore.js"
import { TracingLive } from "./observability/Tracing.js"
import { AdminGuard } from "./protection/AdminGuard.js"
import { ClientAuth } from "./protection/ClientAuth.js"
import { ClientTokens } from "./protection/ClientTokens.js"
import { Cors } from "./protection/Cors.js"
import { RedisLimits } from "./protection/RedisLimits.js"
import { ResponseCache } from "./protection/ResponseCache.js"
import { DataPlane } from "./proxy/DataPlane.js"
import { Relay } from "./proxy/Relay.js"
import { Cooldowns } from "./routing/Cooldowns.js"
import { EndpointLoads } from "./routing/EndpointLoads.js"
import { EngineMetrics } from "./routing/EngineMetrics.js"
import { ModelCatalog } from "./routing/ModelCatalog.js"
import { RoutingEngine } from "./routing/RoutingEngine.js"
import { TokenShares } from "./routing/TokenShares.js"
import { BalancerServer } from "./Server.js"
import { BlockRepo } from "./store/BlockRepo.js"
import { DatabaseLive } from "./store/Database.js"
import { EndpointRepo } from "./store/EndpointRepo.js"
import { SettingsRepo } from "./store/SettingsRepo.js"
import { Topology } from "./store/Topology.js"
import { AuditRepo } from "./store/AuditRepo.js"
import { Backups } from "./store/Backups.js"
import { StatsRepo } from "./store/StatsRepo.js"
import { TokenRepo } from "./store/TokenRepo.js"
import { Upstreams } from "./upstream/Upstreams.js"
import { EditorSite } from "./web/EditorSite.js"
import { ConfigSync } from "./admin/ConfigSync.js"

const LoggingLive = Layer.unwrapEffect(
  Effect.map(LbConfig, (config) => Layer.merge(Logger.json, Logger.minimumLogLevel(config.logLevel)))
)

export const BalancerLive = BalancerServer.Default.pipe(
  Layer.provide(NodeHttpServer.layerContext),
  Layer.provide(DataPlane.Default),
  Layer.provide([LiveState.Default, Relay.Default, ClientAuth.Default, Cors.Default, AdminGuard.Default, EditorSite.Default]),
  // Several replicas: configuration changes announced and taken in (nothing on SQLite).
  Layer.provide(ConfigSync.Default),
  // Write-behind stores: above the database, so that their last flush at shutdown finds it open.
  Layer.provide([StatsStore.Default, Audit.Default, EventTickets.Default, ClientTokens.Default]),
  // LB_REDIS_URL: client limits and the admin rate limit shared by the replicas (nothing without it).
  Layer.provideMerge(RedisLimits.Default),
  Layer.provideMerge(ResponseCache.Default),
  Layer.provideMerge(Metrics.Default),
  Layer.provideMerge(RoutingEngine.Default),
  Layer.provideMerge(ModelCatalog.Default),
  Layer.provideMerge(
    Layer.mergeAll(Cooldowns.Default, TokenShares.Default, Upstreams.Default, Stats.Default, EngineMetrics.Default, EndpointLoads.Default)
  ),
  Layer.provideMerge(Topology.Default),
  Layer.provide([EndpointRepo.Default, SettingsRepo.Default, BlockRepo.Default, TokenRepo.Default]),
  Layer.provide([StatsRepo.Default, AuditRepo.Default, Backups.Default]),
  Layer.provide(DatabaseLive),
  // Above the logger: the warning is a JSON line too.
  Layer.provide(Layer.effectDiscard(warnOfWeakAdminToken)),
  Layer.provideMerge(Layer.mergeAll(LoggingLive, TracingLive, Lifecycle.Default, ClientAddress.Default)),
  Layer.provideMerge(LbConfig.Default)
)
