/**
 * The script of one worker thread of a `workers > 1` run: one engine on its own pool, its events sent to
 * the main thread every 20 ms.
 */
import { Schema } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import { Pool } from "undici"
import { Engine } from "./Engine.js"
import { loadOf, poolOptions } from "./Plan.js"
import type { RequestRecord } from "./Records.js"
import { monitorLoop } from "./SelfCheck.js"
import { RunSettings } from "./Settings.js"
import type { FromWorker, ToWorker, WorkerData } from "./Workers.js"

const port = parentPort!
const data = workerData as WorkerData
const settings = Schema.decodeSync(RunSettings)(data.settings)
const pool = new Pool(data.target.origin, poolOptions)

let lags: Array<number> = []
let warmups: Array<number> = []
let outputs: Array<number> = []
let records: Array<RequestRecord> = []
const flush = () => {
  if (lags.length === 0 && outputs.length === 0 && records.length === 0) return
  const batch: FromWorker = { type: "batch", lags, warmups, outputs, records }
  port.postMessage(batch)
  lags = []
  warmups = []
  outputs = []
  records = []
}

let engine: Engine | null = null
port.on("message", (message: ToWorker) => {
  if (message.type === "stop") {
    if (engine !== null) engine.stop(message.reason)
    else finish(null)
    return
  }
  const monitor = monitorLoop()
  const flusher = setInterval(flush, 20)
  engine = new Engine(
    {
      settings,
      model: data.model,
      basePath: data.target.basePath,
      load: loadOf(settings, data.stride, data.offset),
      stride: data.stride,
      offset: data.offset,
      startAt: message.startEpochMs - performance.timeOrigin,
      runId: data.runId
    },
    pool,
    {
      onSend: (lag, warmup) => {
        if (!warmup) monitor.measuring()
        lags.push(lag ?? Number.NaN)
        warmups.push(warmup ? 1 : 0)
      },
      onOutput: (ttft, gap, tokens) => outputs.push(ttft ?? Number.NaN, gap ?? Number.NaN, tokens),
      onRecord: (record) => records.push(record),
      onIdle: () => {
        clearInterval(flusher)
        finish(monitor.stop())
      }
    }
  )
  engine.start()
})

let finished = false
const finish = (loop: { p99_ms: number; max_ms: number } | null) => {
  if (finished) return
  finished = true
  flush()
  const idle: FromWorker = { type: "idle", loop: loop ?? { p99_ms: 0, max_ms: 0 } }
  port.postMessage(idle)
  void pool.destroy()
}

const ready: FromWorker = { type: "ready" }
port.postMessage(ready)
