/**
 * Prometheus metrics on their own prom-client registry, served at GET /metrics. The data plane
 * records into pre-bound children (cached per endpoint) with synchronous calls; values the services
 * already hold (tokens, latency, in-flight, cooldown, queue) are read when Prometheus scrapes.
 */
import type { Endpoint } from "@llmlb/core"
import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import * as Prom from "prom-client"
import { LbConfig } from "../Config.js"
import { Cooldowns } from "../routing/Cooldowns.js"
import { EngineMetrics } from "../routing/EngineMetrics.js"
import { RoutingEngine } from "../routing/RoutingEngine.js"
import { Topology } from "../store/Topology.js"
import { LeanHistogram, type LeanSeries } from "./LeanHistogram.js"
import { Stats } from "./Stats.js"

/** Why an attempt on an endpoint failed, as the `reason` label. */
export type FailureReason = "status_5xx" | "status_429" | "unreachable" | "timeout" | "stream_broken"

/** LLM latencies run from milliseconds to minutes. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300]
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** The balancer's own time per request: tens of microseconds to a few milliseconds. */
const OVERHEAD_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]

interface EndpointChildren {
  readonly byStatus: Map<string, Prom.Counter.Internal>
  readonly failures: Map<FailureReason, Prom.Counter.Internal>
  readonly durationStream: LeanSeries
  readonly durationWhole: LeanSeries
  readonly ttft: LeanSeries
}

export class Metrics extends Effect.Service<Metrics>()("Metrics", {
  effect: Effect.gen(function*() {
    const topology = yield* Topology
    const stats = yield* Stats
    const routing = yield* RoutingEngine
    const cooldowns = yield* Cooldowns
    const engines = yield* EngineMetrics
    const { databaseUrl, replicaId } = yield* LbConfig
    const registry = new Prom.Registry()
    // Added when the text is written, so the hot path's series stay as they are.
    registry.setDefaultLabels({ replica: replicaId })
    Prom.collectDefaultMetrics({ register: registry })

    /**
     * The cumulative counts to export. One process on SQLite owns the stored totals (kept across restarts);
     * a replica on PostgreSQL holds the cluster's totals, so it exports what it counted itself, and
     * summing the replicas' series gives the cluster's.
     */
    const counts = Option.isSome(databaseUrl)
      ? {
        endpoint: (id: string) => {
          const own = stats.own(id)
          return {
            prompt: own.promptTokens,
            completion: own.completionTokens,
            avgLatency: own.requests === 0 ? 0 : own.latencySeconds / own.requests
          }
        },
        estimated: stats.ownEstimatedTokens
      }
      : {
        endpoint: (id: string) => {
          const s = stats.endpoint(id)
          return { prompt: s.prompt_tokens, completion: s.completion_tokens, avgLatency: s.avg_latency_seconds }
        },
        estimated: stats.estimatedTokens
      }

    /** A gauge or counter whose samples are computed per endpoint at scrape time. */
    const perEndpoint = (
      kind: "gauge" | "counter",
      name: string,
      help: string,
      labelNames: ReadonlyArray<string>,
      sample: (endpoint: Endpoint.EndpointRecord, set: (labels: Record<string, string>, value: number) => void) => void
    ) => {
      const Metric = kind === "gauge" ? Prom.Gauge : Prom.Counter
      new Metric({
        name,
        help,
        labelNames: ["endpoint", ...labelNames],
        registers: [registry],
        collect(this: Prom.Gauge | Prom.Counter) {
          this.reset()
          for (const endpoint of topology.endpoints()) {
            sample(endpoint, (labels, value) => {
              const full = { endpoint: endpoint.name, ...labels }
              if (this instanceof Prom.Gauge) this.set(full, value)
              else this.inc(full, value)
            })
          }
        }
      })
    }

    perEndpoint("counter", "lb_endpoint_tokens_total", "Tokens per endpoint (prompt or completion)", ["type"], (e, set) => {
      const c = counts.endpoint(e.id)
      set({ type: "prompt" }, c.prompt)
      set({ type: "completion" }, c.completion)
    })
    perEndpoint("gauge", "lb_endpoint_avg_latency_seconds", "Average request latency per endpoint", [], (e, set) =>
      set({}, counts.endpoint(e.id).avgLatency))
    perEndpoint("gauge", "lb_endpoint_inflight", "Requests in flight per endpoint", [], (e, set) =>
      set({}, routing.inflight(e.id)))
    perEndpoint("gauge", "lb_endpoint_cooldown", "1 while the endpoint cools down after failures", [], (e, set) =>
      set({}, cooldowns.view(e.id).active ? 1 : 0))
    // Routing mode load: the engine's own figures, absent while unknown or stale.
    perEndpoint("gauge", "lb_endpoint_engine_queue", "Requests waiting in the endpoint's engine (its /metrics)", [], (e, set) => {
      const queue = engines.view(e.id)?.queue
      if (queue != null) set({}, queue)
    })
    perEndpoint("gauge", "lb_endpoint_engine_kv_cache_usage", "KV cache usage of the endpoint's engine, 0..1", [], (e, set) => {
      const usage = engines.view(e.id)?.kv_cache_usage
      if (usage != null) set({}, usage)
    })
    perEndpoint("gauge", "lb_endpoint_engine_metrics_age_seconds", "Age of the engine figures last read", [], (e, set) => {
      const age = engines.view(e.id)?.age_seconds
      if (age != null) set({}, age)
    })

    new Prom.Gauge({
      name: "lb_queue_depth",
      help: "Requests waiting for a free endpoint slot",
      registers: [registry],
      collect() {
        this.set(routing.queueDepth())
      }
    })
    new Prom.Counter({
      name: "lb_tokens_estimated_total",
      help: "Completion tokens estimated because the upstream reported no usage",
      registers: [registry],
      collect() {
        this.reset()
        this.inc(counts.estimated())
      }
    })

    const requests = new Prom.Counter({
      name: "lb_endpoint_requests_total",
      help: "Requests per endpoint and the status they ended with (an HTTP status, or error / timeout)",
      labelNames: ["endpoint", "status"],
      registers: [registry]
    })
    const failures = new Prom.Counter({
      name: "lb_endpoint_failures_total",
      help: "Failed attempts per endpoint and reason",
      labelNames: ["endpoint", "reason"],
      registers: [registry]
    })
    // Observed on every request: lean histograms, not prom-client's (see LeanHistogram).
    const duration = new LeanHistogram(
      "lb_request_duration_seconds",
      "Time from the request's arrival to the end of its response",
      ["endpoint", "stream"],
      LATENCY_BUCKETS,
      registry
    )
    const ttft = new LeanHistogram(
      "lb_time_to_first_token_seconds",
      "Streams: time from the request's arrival to the first generated content",
      ["endpoint"],
      TTFT_BUCKETS,
      registry
    )
    const overhead = new LeanHistogram(
      "lb_overhead_seconds",
      "Time spent in the balancer itself per request, upstream time excluded",
      [],
      OVERHEAD_BUCKETS,
      registry
    ).labels()
    const failovers = new Prom.Counter({
      name: "lb_failovers_total",
      help: "Requests retried on another endpoint after a failed attempt",
      registers: [registry]
    })
    const cacheHits = new Prom.Counter({ name: "lb_cache_hits_total", help: "Responses served from the cache", registers: [registry] })
    const cacheMisses = new Prom.Counter({ name: "lb_cache_misses_total", help: "Cacheable requests not in the cache", registers: [registry] })

    // Records are replaced on every change of the endpoint, so a rename gets fresh children.
    const children = new WeakMap<Endpoint.EndpointRecord, EndpointChildren>()
    /** How to remove each endpoint name's series, for when no endpoint has that name any more. */
    const series = new Map<string, Array<() => void>>()
    const track = (name: string, remove: () => void) => {
      let removers = series.get(name)
      if (removers === undefined) series.set(name, (removers = []))
      removers.push(remove)
    }
    const of = (endpoint: Endpoint.EndpointRecord): EndpointChildren => {
      let c = children.get(endpoint)
      if (c === undefined) {
        const name = endpoint.name
        track(name, () => {
          duration.remove(name, "true")
          duration.remove(name, "false")
          ttft.remove(name)
        })
        c = {
          byStatus: new Map(),
          failures: new Map(),
          durationStream: duration.labels(endpoint.name, "true"),
          durationWhole: duration.labels(endpoint.name, "false"),
          ttft: ttft.labels(endpoint.name)
        }
        children.set(endpoint, c)
      }
      return c
    }
    /** The counter child for one endpoint and one label value, made (and tracked for removal) once. */
    const child = <K extends string>(
      map: Map<K, Prom.Counter.Internal>,
      counter: Prom.Counter,
      endpoint: Endpoint.EndpointRecord,
      value: K
    ) => {
      let c = map.get(value)
      if (c === undefined) {
        const name = endpoint.name
        c = counter.labels(name, value)
        map.set(value, c)
        track(name, () => counter.remove(name, value))
      }
      return c
    }

    topology.onChange(() => {
      const names = new Set(topology.endpoints().map((e) => e.name))
      for (const [name, removers] of series) {
        if (!names.has(name)) {
          for (const remove of removers) remove()
          series.delete(name)
        }
      }
    })

    return {
      /** An attempt on an endpoint ended with this status (an HTTP status, or "error" / "timeout"). */
      attempt: (endpoint: Endpoint.EndpointRecord, status: string) =>
        child(of(endpoint).byStatus, requests, endpoint, status).inc(),
      failure: (endpoint: Endpoint.EndpointRecord, reason: FailureReason) =>
        child(of(endpoint).failures, failures, endpoint, reason).inc(),
      /** A request answered by this endpoint: its total duration, its TTFT (streams) and the balancer's own time. */
      completed: (
        endpoint: Endpoint.EndpointRecord,
        stream: boolean,
        seconds: number,
        ttftSeconds: number | undefined,
        overheadSeconds: number
      ) => {
        const c = of(endpoint)
        ;(stream ? c.durationStream : c.durationWhole).observe(seconds)
        if (ttftSeconds !== undefined) c.ttft.observe(ttftSeconds)
        overhead.observe(overheadSeconds)
      },
      failover: () => failovers.inc(),
      cacheHit: () => cacheHits.inc(),
      cacheMiss: () => cacheMisses.inc(),
      registry
    } as const
  })
}) {}

export const MetricsRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const { registry } = yield* Metrics
    yield* router.add(
      "GET",
      "/metrics",
      Effect.promise(() => registry.metrics()).pipe(
        Effect.map((body) => HttpServerResponse.text(body, { contentType: registry.contentType }))
      )
    )
  }))
