/**
 * A load run as an Effect: a scoped fiber tree that owns the connection pool, the per-second ticker and
 * the engine (in this thread or in worker threads). Aborting the signal or meeting the error-rate limit
 * stops the engine (in-flight requests are ended) and the run still resolves with its report;
 * interrupting the fiber stops it the same way.
 */
import { Data, Effect } from "effect"
import { randomBytes } from "node:crypto"
import { Pool } from "undici"
import { Engine, type EngineSink } from "./Engine.js"
import { loadOf, poolOptions, type Target, targetOf } from "./Plan.js"
import { type RequestRecord, runEvent, type RunEvent, type SeriesPoint } from "./Records.js"
import { buildReport, type Report } from "./Report.js"
import { buildSelfCheck, type LoopDelay, monitorLoop } from "./SelfCheck.js"
import { rampKind, type RunSettings } from "./Settings.js"
import { Tracker } from "./Tracker.js"
import { startWorkers } from "./Workers.js"

export interface RunOptions {
  readonly signal?: AbortSignal
  readonly onPoint?: (p: SeriesPoint) => void
  readonly onEvent?: (e: RunEvent) => void
  readonly onRequest?: (r: RequestRecord) => void
}

export interface RunResult {
  readonly status: "done" | "stopped" | "failed"
  readonly reason: string | null
  readonly report: Report
}

export class LoadError extends Data.TaggedError("LoadError")<{ readonly message: string }> {}

/** The engine of a run, wherever it runs: started once, stopped at most once, idle once. */
export interface Driver {
  start(): void
  stop(reason: string): void
  /** The event-loop delay of every thread that sent, once idle. */
  loops(): Promise<ReadonlyArray<LoopDelay>>
}

/** The first model of `GET {base}/models`. */
const firstModel = (pool: Pool, target: Target, settings: RunSettings) =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await pool.request({
        path: `${target.basePath}/models`,
        method: "GET",
        headers: settings.api_key === undefined ? {} : { authorization: `Bearer ${settings.api_key}` },
        signal,
        headersTimeout: 10_000,
        bodyTimeout: 10_000
      })
      const text = await response.body.text()
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`)
      const id = JSON.parse(text)?.data?.[0]?.id
      if (typeof id !== "string") throw new Error("the server lists no model")
      return id
    },
    catch: (error) =>
      new LoadError({ message: `GET ${settings.base_url}/models failed: ${error instanceof Error ? error.message : String(error)}` })
  })

const localDriver = (settings: RunSettings, model: string, target: Target, pool: Pool, runId: string, sink: EngineSink): Driver => {
  let monitor: ReturnType<typeof monitorLoop> | null = null
  let loop: LoopDelay | null = null
  let idle = false
  let resolveIdle: (() => void) | null = null
  const engine = new Engine(
    { settings, model, basePath: target.basePath, load: loadOf(settings), stride: 1, offset: 0, startAt: performance.now(), runId },
    pool,
    {
      ...sink,
      onSend: (lag, warmup) => {
        if (!warmup) monitor?.measuring()
        sink.onSend(lag, warmup)
      },
      onIdle: () => {
        if (idle) return
        idle = true
        loop = monitor?.stop() ?? null
        resolveIdle?.()
        sink.onIdle()
      }
    }
  )
  return {
    start() {
      monitor = monitorLoop()
      engine.start()
    },
    stop: (reason) => engine.stop(reason),
    loops: () =>
      new Promise((resolve) => {
        if (idle) resolve(loop === null ? [] : [loop])
        else resolveIdle = () => resolve(loop === null ? [] : [loop])
      })
  }
}

/** One run; its state (records, events, counters) is made afresh each time the effect runs. */
export const runLoad = (settings: RunSettings, options: RunOptions = {}): Effect.Effect<RunResult> =>
  Effect.suspend(() => makeRun(settings, options))

const makeRun = (settings: RunSettings, options: RunOptions): Effect.Effect<RunResult> => {
  const events: Array<RunEvent> = []
  const emit = (level: RunEvent["level"], message: string) => {
    const event = runEvent(level, message)
    events.push(event)
    options.onEvent?.(event)
  }
  const date = new Date()
  const tracker = new Tracker(settings.max_error_rate, options.onRequest)
  let model = settings.model ?? ""
  let loops: ReadonlyArray<LoopDelay> = []

  const report = (status: RunResult["status"], reason: string | null): RunResult => {
    const measured = tracker.records.filter((r) => !r.warmup)
    const selfCheck = buildSelfCheck({
      loops,
      lagsMs: tracker.lagsMs,
      records: measured,
      openLoop: settings.rate !== undefined || rampKind(settings) === "rate",
      capped: settings.concurrency !== undefined
    })
    if (selfCheck.saturated) emit("warn", `the client was saturated: ${selfCheck.notes.join("; ")}`)
    return {
      status,
      reason,
      report: buildReport({ settings, model, status, reason, records: tracker.records, series: tracker.series, selfCheck, events, date })
    }
  }

  const run = Effect.gen(function*() {
    const target = yield* Effect.try({
      try: () => targetOf(settings.base_url),
      catch: () => new LoadError({ message: `base_url: not a URL: ${settings.base_url}` })
    })
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => new Pool(target.origin, poolOptions)),
      (p) => Effect.promise(() => p.destroy().catch(() => undefined))
    )
    if (settings.model === undefined) model = yield* firstModel(pool, target, settings)
    const runId = randomBytes(4).toString("hex")
    emit("info", `run ${runId}: ${model} at ${settings.base_url}`)

    let outcome: { status: RunResult["status"]; reason: string | null } = { status: "done", reason: null }
    const startedAt = performance.now()
    let lastTick = startedAt

    const driver: Driver = yield* Effect.async<Driver, LoadError>((resume) => {
      let driver: Driver
      const stopWith = (status: RunResult["status"], reason: string) => {
        if (outcome.reason !== null) return
        outcome = { status, reason }
        emit(status === "failed" ? "error" : "info", `stopping: ${reason}`)
        driver.stop(reason)
      }
      const sink: EngineSink = {
        onSend: (lag, warmup) => tracker.send(lag, warmup),
        onOutput: (ttft, gap, tokens) => tracker.output(ttft, gap, tokens),
        onRecord: (record) => {
          tracker.record(record)
          const rate = tracker.errorRateExceeded()
          if (rate !== null) stopWith("failed", `error rate ${(rate * 100).toFixed(1)} % over the last requests exceeds ${settings.max_error_rate! * 100} %`)
        },
        onIdle: () => {
          clearInterval(ticker)
          options.signal?.removeEventListener("abort", onAbort)
          const now = performance.now()
          // The closing point carries the final counts: skipped only when the last tick was moments ago and
          // nothing has happened since (workers may report their last sends just after a tick).
          const last = tracker.series.at(-1)
          const { completed, failed, sent } = tracker.counts
          const unchanged = last !== undefined && last.sent === sent && last.completed === completed && last.failed === failed
          if (now - lastTick > 50 || !unchanged) options.onPoint?.(tracker.tick((now - startedAt) / 1000, (now - lastTick) / 1000))
          resume(Effect.succeed(driver))
        }
      }
      try {
        driver = settings.workers > 1 ?
          startWorkers(settings, model, target, runId, settings.workers, sink, (message) => emit("error", message)) :
          localDriver(settings, model, target, pool, runId, sink)
      } catch (error) {
        // e.g. no worker script beside a bundle
        resume(Effect.fail(new LoadError({ message: error instanceof Error ? error.message : String(error) })))
        return
      }
      const ticker = setInterval(() => {
        lastTick = performance.now()
        options.onPoint?.(tracker.tick(Math.round((lastTick - startedAt) / 1000)))
      }, 1000)
      const onAbort = () => stopWith("stopped", "stopped by the user")
      if (options.signal?.aborted) onAbort()
      options.signal?.addEventListener("abort", onAbort)
      driver.start()
      return Effect.sync(() => {
        clearInterval(ticker)
        options.signal?.removeEventListener("abort", onAbort)
        driver.stop("interrupted")
      })
    })
    loops = yield* Effect.promise(() => driver.loops())
    if (outcome.status === "done" && tracker.records.every((r) => !r.ok) && tracker.records.length > 0) {
      outcome = { status: "failed", reason: "no request succeeded" }
    }
    emit("info", `run ${outcome.status}${outcome.reason === null ? "" : `: ${outcome.reason}`}`)
    return report(outcome.status, outcome.reason)
  })

  return Effect.scoped(run).pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        emit("error", error.message)
        return report("failed", error.message)
      })
    )
  )
}
