import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { ProducerLive } from "./App.js"

// Logs are JSON lines (App.ts), so the runtime's pretty logger stays off.
Layer.launch(ProducerLive).pipe(NodeRuntime.runMain({ disablePrettyLogger: true }))
