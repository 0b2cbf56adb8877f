/**
 * What each endpoint's engine says about itself (routing mode `load`): every LB_ENGINE_METRICS_SECONDS
 * each enabled endpoint's Prometheus `/metrics` (on its base URL's origin, or its `metrics_url`) is read
 * off the hot path, parsed as it arrives, at most one scrape in flight per endpoint and each abandoned
 * after min(interval, 2 s). A figure older than three intervals is stale: decisions then ignore it and
 * use the router's own counters. Nothing here ever makes a request wait.
 */
import { ENGINE_METRIC_NAMES, EngineMetricsParser, type Endpoint } from "@llmlb/core"
import { Effect } from "effect"
import { setMaxListeners } from "node:events"
import { Client } from "undici"
import { LbConfig } from "../Config.js"
import { Topology } from "../store/Topology.js"

/** The last figures read from one endpoint's engine; NaN = it did not say. */
export class EngineState {
  queue = NaN
  running = NaN
  kvCacheUsage = NaN
  blockSize = NaN
  numGpuBlocks = NaN
  /** performance.now() of the last successful scrape; 0 = never. */
  at = 0
  scraping = false
}

/** What the state API and the editor show; null fields when unknown or stale. */
export interface EngineView {
  readonly queue: number | null
  readonly running: number | null
  readonly kv_cache_usage: number | null
  readonly age_seconds: number | null
}

/** A scrape never takes longer than this, whatever the interval. */
const MAX_SCRAPE_MS = 2000
/** Metrics bodies are small; a larger one is cut off here (the figures read so far stay). */
const MAX_BODY_BYTES = 4 * 1024 * 1024

/** The metrics URL of an endpoint: its own, else /metrics on its base URL's origin. */
export const metricsUrlOf = (endpoint: Endpoint.EndpointRecord): string =>
  endpoint.metrics_url ?? `${new URL(endpoint.base_url).origin}/metrics`

/**
 * Asks for the samples read only, with prometheus_client's `name[]` filter, which vLLM's and SGLang's
 * /metrics have: some 30 KB of histograms become a few hundred bytes, most of a scrape's cost on both
 * sides. A server without the filter answers everything, which is read the same.
 */
const NAME_FILTER = ENGINE_METRIC_NAMES.map((name) => `name%5B%5D=${encodeURIComponent(name)}`).join("&")

/** Where a scrape goes: the metrics URL's origin (one connection pool each) and its path with the name filter. */
interface Target {
  readonly url: string
  readonly verifyTls: boolean
  readonly origin: string
  readonly path: string
}

const targetOf = (url: string, verifyTls: boolean): Target => {
  const parsed = new URL(url)
  const path = `${parsed.pathname}${parsed.search === "" ? "?" : `${parsed.search}&`}${NAME_FILTER}`
  return { url, verifyTls, origin: parsed.origin, path }
}

const numberOr = (n: number | undefined) => (n === undefined ? NaN : n)
const known = (n: number) => (Number.isNaN(n) ? null : n)

export class EngineMetrics extends Effect.Service<EngineMetrics>()("EngineMetrics", {
  scoped: Effect.gen(function*() {
    const config = yield* LbConfig
    const topology = yield* Topology
    const intervalMs = config.engineMetricsSeconds * 1000
    const staleAfterMs = 3 * intervalMs
    const timeoutMs = Math.min(intervalMs, MAX_SCRAPE_MS)
    const states = new Map<string, EngineState>()
    // Scrapes use their own connections, never a slot of the data plane's pools: one undici Client per
    // metrics origin (no URL parse nor dispatcher lookup per scrape), closed when no endpoint uses it.
    const clients = new Map<string, Client>()
    const clientOf = (target: Target) => {
      const key = `${target.verifyTls ? "v" : "i"}${target.origin}`
      let client = clients.get(key)
      if (client === undefined) {
        client = new Client(target.origin, target.verifyTls ? {} : { connect: { rejectUnauthorized: false } })
        clients.set(key, client)
      }
      return client
    }
    yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all([...clients.values()].map((c) => c.close()))))
    const targets = new Map<string, Target>()

    const stateOf = (id: string) => {
      let state = states.get(id)
      if (state === undefined) {
        state = new EngineState()
        states.set(id, state)
      }
      return state
    }

    /** Reads one scrape's body as it arrives; resolves when it has ended (or was cut off). */
    const read = (endpoint: Endpoint.EndpointRecord, state: EngineState, signal: AbortSignal) => {
      const url = metricsUrlOf(endpoint)
      let target = targets.get(endpoint.id)
      if (target === undefined || target.url !== url || target.verifyTls !== endpoint.verify_tls) {
        target = targetOf(url, endpoint.verify_tls)
        targets.set(endpoint.id, target)
      }
      return clientOf(target).request({ path: target.path, method: "GET", signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
        .then((response) =>
          new Promise<void>((resolve, reject) => {
            const body = response.body
            if (response.statusCode !== 200) {
              body.on("error", reject).on("end", resolve).on("close", resolve).resume()
              return
            }
            const parser = new EngineMetricsParser()
            // undici yields Buffers; the decoder keeps a character split across chunks whole.
            const decoder = new TextDecoder()
            let size = 0
            let finished = false
            const done = () => {
              if (finished) return
              finished = true
              parser.push(decoder.decode())
              const figures = parser.end()
              state.queue = numberOr(figures.queue)
              state.running = numberOr(figures.running)
              state.kvCacheUsage = numberOr(figures.kvCacheUsage)
              state.blockSize = numberOr(figures.blockSize)
              state.numGpuBlocks = numberOr(figures.numGpuBlocks)
              state.at = performance.now()
              resolve()
            }
            body.on("data", (chunk: Buffer) => {
              parser.push(decoder.decode(chunk, { stream: true }))
              size += chunk.length
              if (size > MAX_BODY_BYTES) {
                // The figures read so far stay.
                body.destroy()
                done()
              }
            }).on("end", done).on("error", reject)
              // Settled by then unless it was cut off without an error: a scrape never stays in flight.
              .on("close", () => reject(new Error("metrics body closed early")))
          })
        )
    }

    /** Starts a scrape of the endpoint unless one is in flight; never rejects. */
    const scrape = (endpoint: Endpoint.EndpointRecord, signal: AbortSignal = AbortSignal.timeout(timeoutMs)): Promise<void> => {
      const state = stateOf(endpoint.id)
      if (state.scraping) return Promise.resolve()
      state.scraping = true
      return read(endpoint, state, signal)
        .catch(() => undefined) // a failed scrape leaves the figures to go stale
        .finally(() => {
          state.scraping = false
        })
    }

    const scrapeAll = () => {
      // One deadline for the round's scrapes: one timer a round, not one a scrape.
      const signal = AbortSignal.timeout(timeoutMs)
      setMaxListeners(0, signal)
      const ids = new Set<string>()
      for (const endpoint of topology.endpoints()) {
        ids.add(endpoint.id)
        if (endpoint.enabled) void scrape(endpoint, signal)
      }
      for (const id of states.keys()) if (!ids.has(id)) states.delete(id)
      for (const id of targets.keys()) if (!ids.has(id)) targets.delete(id)
      if (clients.size > targets.size) {
        const used = new Set<string>()
        for (const t of targets.values()) used.add(`${t.verifyTls ? "v" : "i"}${t.origin}`)
        for (const [key, client] of clients) {
          if (!used.has(key)) {
            clients.delete(key)
            void client.close().catch(() => undefined)
          }
        }
      }
    }

    if (intervalMs > 0) {
      const timer = setInterval(scrapeAll, intervalMs)
      timer.unref()
      scrapeAll()
      yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(timer)))
    }

    /** The endpoint's figures when fresh, else undefined. `now` is performance.now(). */
    const fresh = (id: string, now: number): EngineState | undefined => {
      const state = states.get(id)
      return state !== undefined && state.at > 0 && now - state.at <= staleAfterMs ? state : undefined
    }

    return {
      fresh,
      scrape,
      /** For the state API and the editor: null when unknown or stale. */
      view: (id: string): EngineView | null => {
        const now = performance.now()
        const state = fresh(id, now)
        if (state === undefined) return null
        return {
          queue: known(state.queue),
          running: known(state.running),
          kv_cache_usage: known(state.kvCacheUsage),
          age_seconds: Math.round(now - state.at) / 1000
        }
      }
    } as const
  })
}) {}
