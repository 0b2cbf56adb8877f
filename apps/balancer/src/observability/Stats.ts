/**
 * Request and token counters per endpoint, with 10-second sliding rates per endpoint and overall. Plain
 * in-memory numbers with synchronous methods: the data plane records into them on its hot path.
 * The cumulative counters are persisted by StatsStore (restored at start, changes flushed in the
 * background); the global counters are their sum over the endpoints.
 */
import { OpenAi, SlidingWindow } from "@llmlb/core"
import { Effect } from "effect"
import type { EndpointCounters } from "../store/StatsRepo.js"

const RATE_SECONDS = 10

export interface Usage extends OpenAi.UsageCounts {
  /** True when the completion tokens were estimated because the upstream sent no usage. */
  readonly estimated: boolean
}

class Rates {
  readonly tokens = new SlidingWindow(RATE_SECONDS)
  readonly requests = new SlidingWindow(RATE_SECONDS)

  record(now: number, tokens: number) {
    this.tokens.add(now, tokens)
    this.requests.add(now, 1)
  }

  snapshot(now: number) {
    return { tokens_per_second: round(this.tokens.rate(now)), requests_per_second: round(this.requests.rate(now)) }
  }
}

export interface OwnCounts {
  requests: number
  promptTokens: number
  completionTokens: number
  estimatedTokens: number
  latencySeconds: number
}

class Counters {
  requests = 0
  failures = 0
  promptTokens = 0
  completionTokens = 0
  estimatedTokens = 0
  latencySeconds = 0
  /** Changed since the last `takeChanged`. */
  changed = false
  readonly rates = new Rates()
  /** What this process counted itself; `restore` leaves it (several replicas: it takes in the cluster's totals). */
  readonly own: OwnCounts = { requests: 0, promptTokens: 0, completionTokens: 0, estimatedTokens: 0, latencySeconds: 0 }

  record(now: number, usage: Usage, latencySeconds: number) {
    this.requests++
    this.latencySeconds += latencySeconds
    this.own.requests++
    this.own.latencySeconds += latencySeconds
    this.addTokens(now, usage)
    this.rates.requests.add(now, 1)
  }

  addTokens(now: number, usage: Usage) {
    this.promptTokens += usage.promptTokens
    this.completionTokens += usage.completionTokens
    if (usage.estimated) this.estimatedTokens += usage.completionTokens
    this.own.promptTokens += usage.promptTokens
    this.own.completionTokens += usage.completionTokens
    if (usage.estimated) this.own.estimatedTokens += usage.completionTokens
    this.changed = true
    this.rates.tokens.add(now, OpenAi.totalTokens(usage))
  }

  restore(stored: EndpointCounters) {
    this.requests = stored.requests
    this.failures = stored.failures
    this.promptTokens = stored.prompt_tokens
    this.completionTokens = stored.completion_tokens
    this.estimatedTokens = stored.estimated_tokens
    this.latencySeconds = stored.latency_seconds
  }

  stored(endpointId: string): EndpointCounters {
    return {
      endpoint_id: endpointId,
      requests: this.requests,
      failures: this.failures,
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      estimated_tokens: this.estimatedTokens,
      latency_seconds: this.latencySeconds
    }
  }

  snapshot(now: number) {
    return {
      requests: this.requests,
      failures: this.failures,
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      ...this.rates.snapshot(now),
      avg_latency_seconds: averageLatency(this.latencySeconds, this.requests)
    }
  }
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

const averageLatency = (seconds: number, requests: number) => (requests === 0 ? 0 : round(seconds / requests, 4))

export type StatsSnapshot = ReturnType<Counters["snapshot"]>

export class Stats extends Effect.Service<Stats>()("Stats", {
  sync: () => {
    let globalRates = new Rates()
    let perEndpoint = new Map<string, Counters>()
    const none = new Counters()

    const of = (endpointId: string) => {
      let counters = perEndpoint.get(endpointId)
      if (counters === undefined) {
        counters = new Counters()
        perEndpoint.set(endpointId, counters)
      }
      return counters
    }

    const sum = (field: "requests" | "failures" | "promptTokens" | "completionTokens" | "estimatedTokens" | "latencySeconds") => {
      let total = 0
      for (const counters of perEndpoint.values()) total += counters[field]
      return total
    }

    return {
      /** A request that got a complete answer (streamed to the end or a whole body). */
      recordSuccess: (endpointId: string, usage: Usage, latencySeconds: number) => {
        const now = Date.now()
        of(endpointId).record(now, usage, latencySeconds)
        globalRates.record(now, OpenAi.totalTokens(usage))
      },
      /** Tokens of a request that did not finish (its client went away, its stream broke): no request counted. */
      recordPartial: (endpointId: string, usage: Usage) => {
        const now = Date.now()
        of(endpointId).addTokens(now, usage)
        globalRates.tokens.add(now, OpenAi.totalTokens(usage))
      },
      recordFailure: (endpointId: string) => {
        const counters = of(endpointId)
        counters.failures++
        counters.changed = true
      },
      endpoint: (endpointId: string) => (perEndpoint.get(endpointId) ?? none).snapshot(Date.now()),
      /** Sums over the endpoints, rates over every request of the last 10 s. */
      global: () => {
        const requests = sum("requests")
        return {
          requests,
          failures: sum("failures"),
          prompt_tokens: sum("promptTokens"),
          completion_tokens: sum("completionTokens"),
          ...globalRates.snapshot(Date.now()),
          avg_latency_seconds: averageLatency(sum("latencySeconds"), requests)
        }
      },
      estimatedTokens: () => sum("estimatedTokens"),
      /** This process's own counts for an endpoint since it started or the last reset (read only). */
      own: (endpointId: string): Readonly<OwnCounts> => (perEndpoint.get(endpointId) ?? none).own,
      ownEstimatedTokens: () => {
        let total = 0
        for (const counters of perEndpoint.values()) total += counters.own.estimatedTokens
        return total
      },
      /** Start-up: the stored counters (rates start empty). */
      restore: (stored: ReadonlyArray<EndpointCounters>) => {
        for (const row of stored) of(row.endpoint_id).restore(row)
      },
      /** Every endpoint's counters as they are now (the changed marks untouched). */
      counters: (): ReadonlyArray<EndpointCounters> => Array.from(perEndpoint, ([endpointId, counters]) => counters.stored(endpointId)),
      /** The counters changed since the previous call, as they are now. */
      takeChanged: (): ReadonlyArray<EndpointCounters> => {
        const changed: Array<EndpointCounters> = []
        for (const [endpointId, counters] of perEndpoint) {
          if (!counters.changed) continue
          counters.changed = false
          changed.push(counters.stored(endpointId))
        }
        return changed
      },
      /** Forgets the endpoints not in `endpointIds` (deleted ones). */
      retain: (endpointIds: ReadonlySet<string>) => {
        for (const endpointId of perEndpoint.keys()) {
          if (!endpointIds.has(endpointId)) perEndpoint.delete(endpointId)
        }
      },
      reset: () => {
        globalRates = new Rates()
        perEndpoint = new Map()
      }
    } as const
  }
}) {}
