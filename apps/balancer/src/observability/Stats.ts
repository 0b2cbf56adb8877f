/**
 * Request and token counters per endpoint and overall, with 10-second sliding rates. Plain in-memory
 * numbers with synchronous methods: the data plane records into them on its hot path.
 */
import { SlidingWindow } from "@llmlb/core"
import { Effect } from "effect"

const RATE_SECONDS = 10

export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
  /** True when the completion tokens were estimated because the upstream sent no usage. */
  readonly estimated: boolean
}

class Counters {
  requests = 0
  failures = 0
  promptTokens = 0
  completionTokens = 0
  estimatedTokens = 0
  latencySeconds = 0
  readonly tokenRate = new SlidingWindow(RATE_SECONDS)
  readonly requestRate = new SlidingWindow(RATE_SECONDS)

  record(now: number, usage: Usage, latencySeconds: number) {
    const tokens = usage.promptTokens + usage.completionTokens
    this.requests++
    this.promptTokens += usage.promptTokens
    this.completionTokens += usage.completionTokens
    if (usage.estimated) this.estimatedTokens += usage.completionTokens
    this.latencySeconds += latencySeconds
    this.tokenRate.add(now, tokens)
    this.requestRate.add(now, 1)
  }

  snapshot(now: number) {
    return {
      requests: this.requests,
      failures: this.failures,
      prompt_tokens: this.promptTokens,
      completion_tokens: this.completionTokens,
      tokens_per_second: round(this.tokenRate.rate(now)),
      requests_per_second: round(this.requestRate.rate(now)),
      avg_latency_seconds: this.requests === 0 ? 0 : round(this.latencySeconds / this.requests, 4)
    }
  }
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

export type StatsSnapshot = ReturnType<Counters["snapshot"]>

export class Stats extends Effect.Service<Stats>()("Stats", {
  sync: () => {
    let global = new Counters()
    let perEndpoint = new Map<string, Counters>()

    const of = (endpointId: string) => {
      let counters = perEndpoint.get(endpointId)
      if (counters === undefined) {
        counters = new Counters()
        perEndpoint.set(endpointId, counters)
      }
      return counters
    }

    return {
      /** A request that got a complete answer (streamed to the end or a whole body). */
      recordSuccess: (endpointId: string, usage: Usage, latencySeconds: number) => {
        const now = Date.now()
        of(endpointId).record(now, usage, latencySeconds)
        global.record(now, usage, latencySeconds)
      },
      recordFailure: (endpointId: string) => {
        of(endpointId).failures++
        global.failures++
      },
      endpoint: (endpointId: string) => of(endpointId).snapshot(Date.now()),
      global: () => global.snapshot(Date.now()),
      estimatedTokens: () => global.estimatedTokens,
      reset: () => {
        global = new Counters()
        perEndpoint = new Map()
      }
    } as const
  }
}) {}
