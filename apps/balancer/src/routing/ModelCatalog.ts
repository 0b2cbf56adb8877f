/**
 * The models each endpoint serves, learned from its `/models` route: fetched when an endpoint is first
 * seen or its URL or key changes, and refreshed every LB_MODELS_REFRESH_SECONDS. A list that could
 * not be fetched yet is unknown, and an unknown list accepts every model.
 */
import type { Endpoint } from "@llmlb/core"
import { Effect, Schedule } from "effect"
import { LbConfig } from "../Config.js"
import { Topology } from "../store/Topology.js"
import { Upstreams } from "../upstream/Upstreams.js"

export interface ModelObject {
  readonly id: string
  readonly [key: string]: unknown
}

interface Entry {
  /** A fetch was tried (it may have failed): /v1/models waits for no further one. */
  asked: boolean
  models: ReadonlyArray<ModelObject> | undefined
  ids: ReadonlySet<string> | undefined
  refreshing: Promise<void> | undefined
}

/** The longest a model list fetch may take, whatever the endpoint's own timeout. */
const FETCH_TIMEOUT_MS = 10_000

const parseModels = (json: unknown): ReadonlyArray<ModelObject> | undefined => {
  const data = (json as { data?: unknown } | null)?.data
  if (!Array.isArray(data)) return undefined
  return data.filter((m): m is ModelObject => typeof m === "object" && m !== null && typeof m.id === "string")
}

export class ModelCatalog extends Effect.Service<ModelCatalog>()("ModelCatalog", {
  scoped: Effect.gen(function*() {
    const config = yield* LbConfig
    const topology = yield* Topology
    const upstreams = yield* Upstreams

    // Lists belong to what answers them (URL, key, TLS setting), so renaming or moving an endpoint on
    // the canvas keeps its list while a new URL starts unknown.
    const entries = new Map<string, Entry>()
    const fingerprints = new WeakMap<Endpoint.EndpointRecord, string>()

    const entryOf = (endpoint: Endpoint.EndpointRecord): Entry => {
      let key = fingerprints.get(endpoint)
      if (key === undefined) {
        key = `${endpoint.base_url}\n${endpoint.api_key ?? ""}\n${endpoint.verify_tls}`
        fingerprints.set(endpoint, key)
      }
      let entry = entries.get(key)
      if (entry === undefined) {
        entry = { asked: false, models: undefined, ids: undefined, refreshing: undefined }
        entries.set(key, entry)
      }
      return entry
    }

    const fetchModels = async (endpoint: Endpoint.EndpointRecord) => {
      const target = upstreams.targetOf(endpoint)
      const timeout = Math.min((endpoint.timeout ?? config.defaultTimeoutSeconds) * 1000, FETCH_TIMEOUT_MS)
      const pool = target.pools.acquire()
      try {
        const response = await pool.request({
          path: `${target.basePath}/models`,
          method: "GET",
          headers: target.authorization === undefined ? {} : { authorization: target.authorization },
          headersTimeout: timeout,
          bodyTimeout: timeout,
          signal: AbortSignal.timeout(timeout)
        })
        if (response.statusCode !== 200) {
          await response.body.dump()
          return undefined
        }
        return parseModels(await response.body.json())
      } finally {
        target.pools.release(pool)
      }
    }

    /** Fetches the endpoint's list now; a failure keeps the list it had. Never rejects. */
    const refresh = (endpoint: Endpoint.EndpointRecord): Promise<void> => {
      const entry = entryOf(endpoint)
      entry.refreshing ??= fetchModels(endpoint)
        .then((models) => {
          if (models !== undefined) {
            entry.models = models
            entry.ids = new Set(models.map((m) => m.id))
          }
        })
        .catch(() => undefined)
        .finally(() => {
          entry.asked = true
          entry.refreshing = undefined
        })
      return entry.refreshing
    }

    /**
     * Waits until every given endpoint's list has been asked for once. A list that could not be
     * fetched is not asked for again here (the periodic refresh retries it): a dead endpoint must not
     * slow every /v1/models.
     */
    const ensureKnown = (endpoints: ReadonlyArray<Endpoint.EndpointRecord>) =>
      Promise.all(endpoints.map((e) => {
        const entry = entryOf(e)
        return entry.asked ? undefined : (entry.refreshing ?? refresh(e))
      }))

    // A new endpoint, or a new URL or key, starts unknown: learn its list right away.
    const unsubscribe = topology.onChange(() => {
      const used = new Set<Entry>()
      for (const endpoint of topology.endpoints()) {
        const entry = entryOf(endpoint)
        used.add(entry)
        if (!entry.asked) void refresh(endpoint)
      }
      // Lists of URLs or keys no endpoint uses any more (and the keys in them) are dropped.
      for (const [key, entry] of entries) if (!used.has(entry)) entries.delete(key)
    })
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))

    const refreshAll = Effect.promise(() => Promise.all(topology.endpoints().map(refresh)))
    yield* refreshAll.pipe(
      Effect.repeat(Schedule.spaced(`${config.modelsRefreshSeconds} seconds`)),
      Effect.forkScoped
    )

    return {
      refresh,
      ensureKnown,
      /** The endpoint's models, or undefined while unknown. */
      modelsOf: (endpoint: Endpoint.EndpointRecord) => entryOf(endpoint).models,
      /** Whether the endpoint serves the model; an unknown list serves everything. */
      serves: (endpoint: Endpoint.EndpointRecord, model: string) => entryOf(endpoint).ids?.has(model) ?? true
    } as const
  })
}) {}
