/**
 * Reading a simulator's records while ignoring the balancer's own model-list fetches (GET /v1/models).
 */
import type { UpstreamSim } from "@llmlb/upstream-sim"

/** Requests a simulator received on one route (by default chat completions). */
export const generations = (sim: Pick<UpstreamSim, "counters">, route = "/v1/chat/completions") =>
  sim.counters().byRoute[route] ?? 0

/** The generation requests a simulator received, oldest first. */
export const generationRequests = (sim: Pick<UpstreamSim, "received">) =>
  sim.received().filter((r) => r.path !== "/v1/models")
