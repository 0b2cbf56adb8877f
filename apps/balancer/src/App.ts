/**
 * The whole balancer as one layer: main.ts launches it, tests build it with their own config.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { LbConfig } from "./Config.js"
import { BalancerServer } from "./Server.js"
import { DatabaseLive } from "./store/Database.js"
import { Topology } from "./store/Topology.js"

const LoggingLive = Layer.unwrapEffect(
  Effect.map(LbConfig, (config) => Layer.merge(Logger.json, Logger.minimumLogLevel(config.logLevel)))
)

export const BalancerLive = BalancerServer.Default.pipe(
  Layer.provide(Topology.Default),
  Layer.provide(NodeHttpServer.layerContext),
  Layer.provide(DatabaseLive),
  Layer.provideMerge(LoggingLive),
  Layer.provideMerge(LbConfig.Default)
)
