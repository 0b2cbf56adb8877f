/**
 * Runs: each one the engine's `runLoad` in its own fiber, several at once (one per card). Its points and
 * events go out on the live feed as they come; its requests are kept in memory (up to
 * LP_MAX_STORED_REQUESTS) and written to SQLite with the report when it ends, however it ends.
 *
 * A run the process was in the middle of when it died is marked `interrupted` at the next start. At a
 * graceful shutdown every run is stopped (its signal aborted) and written as `stopped` before the
 * database closes: this service depends on the SqlClient, so its finalizer runs first.
 */
import { SqlClient } from "@effect/sql"
import { BadRequest, Conflict, NotFound, type Producer } from "@llmlb/api"
import {
  decodeSettings,
  reportedSettings,
  type RequestRecord,
  requestsCsv,
  type RunEvent,
  type RunResult,
  runLoad,
  type RunSettings,
  type SeriesPoint
} from "@llmlb/loadgen"
import { Cause, Duration, Effect, Either, Exit, Fiber } from "effect"
import { LpConfig } from "../Config.js"
import { type ModelConfigRow, ModelConfigs } from "../store/ModelConfigs.js"
import { presets } from "../store/Presets.js"
import { Profiles } from "../store/Profiles.js"
import { LiveHub } from "./LiveHub.js"

/** Events kept per run (the engine logs a few a run; this bounds a pathological one). */
const MAX_EVENTS = 2_000
/** How long a stop or a shutdown waits for a run to write its report. */
const STOP_WAIT = Duration.seconds(15)
/** Rows a run's requests are inserted by (SQLite bounds the variables of one statement). */
const INSERT_BATCH = 500

interface ActiveRun {
  readonly controller: AbortController
  readonly records: Array<RequestRecord>
  readonly events: Array<RunEvent>
  dropped: number
  lastPoint: SeriesPoint | null
  fiber: Fiber.RuntimeFiber<void> | null
}

interface RunRow {
  readonly id: number
  readonly label: string | null
  readonly status: Producer.RunStatus
  readonly reason: string | null
  readonly started_at: string
  readonly ended_at: string | null
  readonly settings: string
}

interface SummaryRow extends RunRow {
  readonly completed: number | null
  readonly failed: number | null
  readonly request_throughput: number | null
  readonly output_throughput: number | null
  readonly median_ttft_ms: number | null
  readonly p99_ttft_ms: number | null
}

interface DetailRow extends RunRow {
  readonly report: string | null
  readonly events: string
  readonly requests_stored: number
  readonly requests_dropped: number
}

const figuresOf = (row: SummaryRow): Producer.RunFigures | null =>
  row.completed === null ? null : {
    completed: row.completed,
    failed: row.failed ?? 0,
    request_throughput: row.request_throughput ?? 0,
    output_throughput: row.output_throughput ?? 0,
    median_ttft_ms: row.median_ttft_ms ?? 0,
    p99_ttft_ms: row.p99_ttft_ms ?? 0
  }

const runFields = (row: RunRow) => ({
  id: row.id,
  label: row.label,
  status: row.status,
  reason: row.reason,
  started_at: row.started_at,
  ended_at: row.ended_at,
  settings: JSON.parse(row.settings) as Producer.SettingsJson
})

export class Runs extends Effect.Service<Runs>()("Runs", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* LpConfig
    const hub = yield* LiveHub
    const modelConfigs = yield* ModelConfigs
    const profiles = yield* Profiles
    const active = new Map<number, ActiveRun>()

    const interrupted = yield* sql<{ id: number }>`
      UPDATE runs SET status = 'interrupted', reason = 'the producer stopped during the run', ended_at = ${new Date().toISOString()}
      WHERE status = 'running' RETURNING id`.pipe(Effect.orDie)
    if (interrupted.length > 0) {
      yield* Effect.logWarning(`marked ${interrupted.length} run(s) interrupted: the producer stopped during them`)
    }

    /** Where a model configuration sends: the settings it replaces (its model only when `withModel`). */
    const target = (mc: ModelConfigRow, withModel: boolean) => ({
      base_url: mc.base_url,
      route: mc.route,
      ...(mc.model === null || !withModel ? {} : { model: mc.model }),
      ...(mc.api_key === null ? {} : { api_key: mc.api_key })
    })

    /** The engine's settings of a start request: its own, or a profile's / preset's with their model configuration. */
    const resolveSettings = (body: Producer.SettingsJson) =>
      Effect.gen(function*() {
        const { label: _, profile, model_config_id, ...own } = body
        if (model_config_id !== undefined) {
          if (typeof model_config_id !== "string") return yield* Effect.fail(new BadRequest({ message: "model_config_id: an id" }))
          const mc = yield* modelConfigs.record(model_config_id).pipe(
            Effect.catchTag("NotFound", (e) => Effect.fail(new BadRequest({ message: `model_config_id: ${e.message}` })))
          )
          return { ...own, ...target(mc, own["model"] === undefined) }
        }
        if (profile === undefined) return own
        if (typeof profile !== "string") return yield* Effect.fail(new BadRequest({ message: "profile: a profile or preset name" }))
        if (Object.keys(own).length > 0) {
          return yield* Effect.fail(new BadRequest({ message: `${Object.keys(own)[0]}: not allowed beside profile` }))
        }
        const preset = presets.find((p) => p.name.toLowerCase() === profile.toLowerCase() || p.id === profile)
        const found = preset !== undefined
          ? { settings: preset.settings, model_config_id: null }
          : yield* profiles.byName(profile)
        if (found.model_config_id === null) return { ...found.settings, base_url: config.defaultBaseUrl }
        return { ...found.settings, ...target(yield* modelConfigs.record(found.model_config_id), true) }
      })

    const publishStatus = (runId: number, status: Producer.RunStatus, reason: string | null) =>
      hub.publish({ run_id: runId, type: "status", status, reason })

    /** Writes what a run left: its requests, events and report, and its final status. */
    const persist = (runId: number, run: ActiveRun, result: RunResult) =>
      Effect.gen(function*() {
        for (let i = 0; i < run.records.length; i += INSERT_BATCH) {
          const rows = run.records.slice(i, i + INSERT_BATCH).map((record, j) => ({
            run_id: runId,
            seq: i + j,
            record: JSON.stringify(record)
          }))
          yield* sql`INSERT INTO run_requests ${sql.insert(rows)}`
        }
        yield* sql`UPDATE runs SET ${
          sql.update({
            status: result.status,
            reason: result.reason,
            ended_at: new Date().toISOString(),
            report: JSON.stringify(result.report),
            events: JSON.stringify(run.events),
            requests_stored: run.records.length,
            requests_dropped: run.dropped
          })
        } WHERE id = ${runId}`
      }).pipe(sql.withTransaction, Effect.orDie)

    /** A run whose engine failed unexpectedly (a defect): failed, with the cause, and no report. */
    const persistDefect = (runId: number, run: ActiveRun, cause: Cause.Cause<unknown>) =>
      sql`UPDATE runs SET ${
        sql.update({
          status: "failed",
          reason: `the engine failed: ${Cause.pretty(cause).split("\n")[0]}`,
          ended_at: new Date().toISOString(),
          events: JSON.stringify(run.events)
        })
      } WHERE id = ${runId}`.pipe(Effect.orDie)

    const execute = (runId: number, settings: RunSettings, run: ActiveRun) =>
      runLoad(settings, {
        signal: run.controller.signal,
        onPoint: (point) => {
          run.lastPoint = point
          hub.publish({ run_id: runId, type: "point", point: point as unknown as Record<string, unknown> })
        },
        onEvent: (event) => {
          if (run.events.length < MAX_EVENTS) run.events.push(event)
          hub.publish({ run_id: runId, type: "event", event })
        },
        onRequest: (record) => {
          if (run.records.length < config.maxStoredRequests) run.records.push(record)
          else run.dropped++
        }
      }).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Exit.match(exit, {
            onSuccess: (result) =>
              persist(runId, run, result).pipe(Effect.tap(() => publishStatus(runId, result.status, result.reason))),
            onFailure: (cause) =>
              persistDefect(runId, run, cause).pipe(
                Effect.tap(() => Effect.logError(`run ${runId} failed`, cause)),
                Effect.tap(() => publishStatus(runId, "failed", "the engine failed"))
              )
          })
        ),
        Effect.ensuring(Effect.sync(() => active.delete(runId))),
        Effect.asVoid
      )

    const start = (body: Producer.SettingsJson) =>
      Effect.gen(function*() {
        const encoded = yield* resolveSettings(body)
        const settings = yield* Either.match(decodeSettings(encoded), {
          onLeft: (message) => Effect.fail(new BadRequest({ message })),
          onRight: Effect.succeed
        })
        const label = typeof body["label"] === "string" ? body["label"].slice(0, 200) : null
        const [row] = yield* sql<{ id: number }>`INSERT INTO runs ${
          sql.insert({
            label,
            status: "running",
            started_at: new Date().toISOString(),
            settings: JSON.stringify(reportedSettings(settings))
          })
        } RETURNING id`.pipe(Effect.orDie)
        const runId = row!.id
        const run: ActiveRun = { controller: new AbortController(), records: [], events: [], dropped: 0, lastPoint: null, fiber: null }
        active.set(runId, run)
        run.fiber = yield* Effect.forkDaemon(execute(runId, settings, run))
        publishStatus(runId, "running", null)
        return { id: runId, status: "running" as const }
      })

    const findRow = (id: number) =>
      sql<DetailRow>`SELECT * FROM runs WHERE id = ${id}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined ? Effect.fail(new NotFound({ message: `no run with id ${id}` })) : Effect.succeed(rows[0])
        )
      )

    /** Aborts a run and waits (bounded) until it has written its report. */
    const stopAndWait = (run: ActiveRun) =>
      Effect.gen(function*() {
        run.controller.abort()
        if (run.fiber !== null) yield* Fiber.await(run.fiber).pipe(Effect.timeout(STOP_WAIT), Effect.ignore)
      })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        if (active.size === 0) return
        yield* Effect.logInfo(`stopping ${active.size} run(s)`)
        const runs = [...active.values()]
        yield* Effect.forEach(runs, stopAndWait, { concurrency: "unbounded", discard: true })
        yield* Effect.forEach(runs, (run) => (run.fiber === null ? Effect.void : Fiber.interrupt(run.fiber)), { discard: true })
      })
    )

    return {
      start,
      stop: (id: number) =>
        Effect.gen(function*() {
          const run = active.get(id)
          if (run === undefined) {
            const row = yield* findRow(id)
            return yield* Effect.fail(new Conflict({ message: `run ${id} is not running (${row.status})` }))
          }
          yield* stopAndWait(run)
          const row = yield* findRow(id)
          return { id, status: row.status }
        }),
      list: (query: { readonly limit: number; readonly before?: number | undefined }) =>
        sql<SummaryRow>`
          SELECT id, label, status, reason, started_at, ended_at, settings,
            json_extract(report, '$.completed') AS completed, json_extract(report, '$.failed') AS failed,
            json_extract(report, '$.request_throughput') AS request_throughput,
            json_extract(report, '$.output_throughput') AS output_throughput,
            json_extract(report, '$.median_ttft_ms') AS median_ttft_ms,
            json_extract(report, '$.p99_ttft_ms') AS p99_ttft_ms
          FROM runs WHERE id < ${query.before ?? Number.MAX_SAFE_INTEGER} ORDER BY id DESC LIMIT ${query.limit}`.pipe(
          Effect.map((rows) => rows.map((row): Producer.RunSummary => ({ ...runFields(row), figures: figuresOf(row) }))),
          Effect.orDie
        ),
      get: (id: number) =>
        Effect.map(findRow(id), (row): Producer.RunDetail => {
          const run = active.get(id)
          return {
            ...runFields(row),
            report: row.report === null ? null : JSON.parse(row.report),
            events: run === undefined ? JSON.parse(row.events) : [...run.events],
            requests_stored: run === undefined ? row.requests_stored : run.records.length,
            requests_dropped: run === undefined ? row.requests_dropped : run.dropped
          }
        }),
      /** In send order; a running run's so far. */
      requests: (id: number) =>
        Effect.gen(function*() {
          const run = active.get(id)
          if (run !== undefined) return [...run.records]
          yield* findRow(id)
          const rows = yield* sql<{ record: string }>`SELECT record FROM run_requests WHERE run_id = ${id} ORDER BY seq`.pipe(Effect.orDie)
          return rows.map((row) => JSON.parse(row.record) as RequestRecord)
        }),
      remove: (id: number) =>
        Effect.gen(function*() {
          if (active.has(id)) return yield* Effect.fail(new Conflict({ message: `run ${id} is running: stop it first` }))
          yield* findRow(id)
          yield* sql`DELETE FROM runs WHERE id = ${id}`.pipe(Effect.orDie)
        }),
      /** The running runs and their last points: what a client that connects now has missed. */
      snapshot: (): ReadonlyArray<Producer.LiveMessage> =>
        [...active.entries()].flatMap(([runId, run]): Array<Producer.LiveMessage> => [
          { run_id: runId, type: "status", status: "running", reason: null },
          ...(run.lastPoint === null ? [] : [{ run_id: runId, type: "point" as const, point: run.lastPoint as unknown as Record<string, unknown> }])
        ]),
      csv: requestsCsv,
      running: (): number => active.size
    } as const
  })
}) {}
