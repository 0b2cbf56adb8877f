/**
 * `workers > 1`: the engine in N worker threads, for loads one thread cannot drive. Every thread walks the
 * same seeded schedule and sends every N-th arrival (a closed loop splits the concurrency); the threads
 * send their sends, output chunks and records to the main thread in small batches, where one tracker
 * merges them.
 */
import { Schema } from "effect"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import type { EngineSink } from "./Engine.js"
import type { Target } from "./Plan.js"
import type { RequestRecord } from "./Records.js"
import type { Driver } from "./Run.js"
import type { LoopDelay } from "./SelfCheck.js"
import { RunSettings } from "./Settings.js"

export interface WorkerData {
  readonly settings: typeof RunSettings.Encoded
  readonly model: string
  readonly target: Target
  readonly runId: string
  readonly stride: number
  readonly offset: number
}

export type ToWorker =
  | { readonly type: "start"; readonly startEpochMs: number }
  | { readonly type: "stop"; readonly reason: string }

export type FromWorker =
  | { readonly type: "ready" }
  /**
   * `lags`: NaN for a send that waited for a slot; `warmups`: 1 for a warm-up send, per lag; `outputs`:
   * (ttft, gap, tokens) triples, NaN for null.
   */
  | {
    readonly type: "batch"
    readonly lags: ReadonlyArray<number>
    readonly warmups: ReadonlyArray<number>
    readonly outputs: ReadonlyArray<number>
    readonly records: ReadonlyArray<RequestRecord>
  }
  | { readonly type: "idle"; readonly loop: LoopDelay }

/**
 * The worker's script: the bundle's `loadgen-worker.js` beside this file; else (running from source, under
 * tsx or vitest) a bootstrap that registers tsx's loader in the worker, as loaders of the main thread do
 * not reach worker threads in Node 20, and imports the TypeScript source.
 */
const workerScript = (workerData: WorkerData): Worker => {
  const bundled = new URL("./loadgen-worker.js", import.meta.url)
  if (existsSync(fileURLToPath(bundled))) return new Worker(bundled, { workerData })
  const source = new URL("./WorkerMain.ts", import.meta.url)
  if (!existsSync(fileURLToPath(source))) {
    throw new Error("workers > 1 needs loadgen-worker.js beside the bundle (packages/loadgen/build.mjs writes it)")
  }
  const tsx = join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/esm/api/index.mjs")
  const bootstrap = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((api) => { api.register(); return import(${
    JSON.stringify(source.href)
  }) })`
  return new Worker(bootstrap, { eval: true, workerData })
}

const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x)

export const startWorkers = (
  settings: RunSettings,
  model: string,
  target: Target,
  runId: string,
  count: number,
  sink: EngineSink,
  /** A worker thread that failed: its share of the load is lost, the run goes on. */
  onFailure: (message: string) => void
): Driver => {
  const encoded = Schema.encodeSync(RunSettings)(settings)
  const loops: Array<LoopDelay> = []
  let ready = 0
  let idle = 0
  let stopReason: string | null = null
  let resolveLoops: ((l: ReadonlyArray<LoopDelay>) => void) | null = null
  const workers: Array<Worker> = []
  /** Per thread: its end is counted (idle, failed or terminated). */
  const settled: Array<boolean> = []
  const onIdle = (loop: LoopDelay) => {
    loops.push(loop)
    if (++idle < workers.length) return
    resolveLoops?.(loops)
    sink.onIdle()
  }
  for (let offset = 0; offset < count; offset++) {
    const data: WorkerData = { settings: encoded, model, target, runId, stride: count, offset }
    const worker = workerScript(data)
    worker.on("message", (message: FromWorker) => {
      switch (message.type) {
        case "ready":
          if (++ready === count && stopReason === null) {
            // a common t = 0 a little ahead, so that no thread starts behind its schedule
            const start: ToWorker = { type: "start", startEpochMs: performance.timeOrigin + performance.now() + 20 }
            for (const w of workers) w.postMessage(start)
          }
          return
        case "batch": {
          for (let i = 0; i < message.lags.length; i++) sink.onSend(orNull(message.lags[i]!), message.warmups[i] === 1)
          const o = message.outputs
          for (let i = 0; i < o.length; i += 3) sink.onOutput(orNull(o[i]!), orNull(o[i + 1]!), o[i + 2]!)
          for (const record of message.records) sink.onRecord(record)
          return
        }
        case "idle":
          if (settled[offset]) return
          settled[offset] = true
          void worker.terminate()
          return onIdle(message.loop)
      }
    })
    worker.on("error", (error) => {
      if (settled[offset]) return
      settled[offset] = true
      onFailure(`worker thread ${offset} failed: ${error.message}`)
      onIdle({ p99_ms: 0, max_ms: 0 })
    })
    worker.on("exit", () => {
      if (settled[offset]) return
      settled[offset] = true
      onIdle({ p99_ms: 0, max_ms: 0 })
    })
    workers.push(worker)
    settled.push(false)
  }
  return {
    start() {
      // the workers start by themselves once all are ready
    },
    stop(reason) {
      if (stopReason !== null) return
      stopReason = reason
      if (ready < count) {
        // Not started (still loading): nothing was sent, nothing to end.
        for (const [i, w] of workers.entries()) {
          void w.terminate()
          if (!settled[i]) {
            settled[i] = true
            onIdle({ p99_ms: 0, max_ms: 0 })
          }
        }
        return
      }
      const message: ToWorker = { type: "stop", reason }
      for (const w of workers) w.postMessage(message)
    },
    loops: () =>
      new Promise((resolve) => {
        if (idle === workers.length) resolve(loops)
        else resolveLoops = resolve
      })
  }
}
