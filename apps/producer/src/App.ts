/**
 * The whole producer as one layer: main.ts launches it, tests build it with their own config.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { LpConfig } from "./Config.js"
import { LiveHub } from "./runs/LiveHub.js"
import { LiveTickets } from "./runs/LiveTickets.js"
import { Runs } from "./runs/Runs.js"
import { ProducerServer } from "./Server.js"
import { DatabaseLive } from "./store/Database.js"
import { ModelConfigs } from "./store/ModelConfigs.js"
import { Profiles } from "./store/Profiles.js"
import { WebPage } from "./WebPage.js"

const LoggingLive = Layer.unwrapEffect(
  Effect.map(LpConfig, (config) => Layer.merge(Logger.json, Logger.minimumLogLevel(config.logLevel)))
)

export const ProducerLive = ProducerServer.Default.pipe(
  Layer.provide(NodeHttpServer.layerContext),
  Layer.provideMerge(Layer.mergeAll(Runs.Default, WebPage.Default)),
  Layer.provideMerge(Profiles.Default),
  Layer.provideMerge(ModelConfigs.Default),
  Layer.provideMerge(Layer.mergeAll(LiveHub.Default, LiveTickets.Default)),
  Layer.provide(DatabaseLive),
  Layer.provideMerge(LoggingLive),
  Layer.provideMerge(LpConfig.Default)
)
