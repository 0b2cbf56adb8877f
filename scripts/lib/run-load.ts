/**
 * The benchmarks' side of the load generator (`scripts/lib/load.ts`): one job per child process, started here,
 * released after its warm-up, its result read from its stdout.
 */
import { type Children, waitForLine } from "./children.js"
import type {
  HttpJob,
  HttpResult,
  LoadJob,
  RequestsJob,
  RequestsResult,
  SerialJob,
  SerialResult,
  StreamJob,
  StreamResult
} from "./load.js"
import { tsNodeArgs } from "./stack.js"

/** How long a job may take beyond its planned duration (HTTP) or in all (rounds, counts). */
const SLACK_MS = 60_000
const UNTIMED_LIMIT_MS = 300_000

/**
 * Runs one job in a load generator process; `onWarm` runs after its warm-up, right before the measured part
 * (to read counters, or start watching).
 */
export async function runLoad(children: Children, job: HttpJob, onWarm?: () => Promise<void>): Promise<HttpResult>
export async function runLoad(children: Children, job: StreamJob, onWarm?: () => Promise<void>): Promise<StreamResult>
export async function runLoad(
  children: Children,
  job: RequestsJob,
  onWarm?: () => Promise<void>
): Promise<RequestsResult>
export async function runLoad(children: Children, job: SerialJob, onWarm?: () => Promise<void>): Promise<SerialResult>
export async function runLoad(
  children: Children,
  job: LoadJob,
  onWarm?: () => Promise<void>
): Promise<HttpResult | StreamResult | RequestsResult | SerialResult> {
  const worker = children.spawn("load generator", process.execPath, tsNodeArgs("scripts/lib/load.ts", [JSON.stringify(job)]))
  const limitMs = job.kind === "http" ? (job.warmupSeconds + job.seconds) * 1_000 + SLACK_MS : UNTIMED_LIMIT_MS
  await waitForLine(worker, /^\{"event":"warm"/, limitMs)
  await onWarm?.()
  const result = waitForLine(worker, /^\{"event":"result".*/, limitMs)
  worker.process.stdin!.write("go\n")
  return JSON.parse((await result)[0]) as HttpResult | StreamResult | RequestsResult | SerialResult
}
