import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { BalancerLive } from "./App.js"

// Logs are JSON lines (App.ts), so the runtime's pretty logger stays off.
Layer.launch(BalancerLive).pipe(NodeRuntime.runMain({ disablePrettyLogger: true }))
