/**
 * The load generator of the benchmarks, run in its own process so the process that measures stays idle:
 * `node --import tsx scripts/lib/load.ts '<LoadJob as JSON>'`.
 *
 * Protocol on stdout, one JSON line each: after the warm-up it prints `{"event":"warm"}` and waits for a line
 * on stdin (the parent reads its counters then), runs the measured part, prints `{"event":"result",...}` and
 * exits. Two kinds of job:
 * - `http`: autocannon against one URL (POST, JSON body) for a duration at a fixed number of connections.
 * - `stream`: rounds of concurrent streaming requests, each timing the first SSE chunk with non-empty content
 *   (fetch + a ReadableStream reader), the rest of the stream read to its end; several URLs take turns, a
 *   round each.
 */
import autocannon from "autocannon"
import { createInterface } from "node:readline"
import { pathToFileURL } from "node:url"

export interface HttpJob {
  readonly kind: "http"
  readonly url: string
  readonly body: string
  readonly connections: number
  readonly warmupSeconds: number
  readonly seconds: number
}

export interface StreamJob {
  readonly kind: "stream"
  /** Measured in turns, one round each, so that a disturbance of the machine hits them alike. */
  readonly urls: ReadonlyArray<string>
  readonly body: string
  readonly concurrency: number
  readonly warmupRounds: number
  readonly rounds: number
}

export type LoadJob = HttpJob | StreamJob

export interface HttpResult {
  readonly event: "result"
  readonly requests: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly latencyP50Ms: number
  readonly latencyP99Ms: number
  readonly non2xx: number
  readonly errors: number
}

export interface StreamStats {
  readonly streams: number
  readonly failures: number
  readonly ttftP50Ms: number
  readonly ttftP99Ms: number
}

export interface StreamResult {
  readonly event: "result"
  /** In the order of `StreamJob.urls`. */
  readonly byUrl: ReadonlyArray<StreamStats>
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN for none. */
const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

const headers = { "content-type": "application/json" }

const hammer = (job: HttpJob, seconds: number) =>
  autocannon({ url: job.url, method: "POST", headers, body: job.body, connections: job.connections, duration: seconds })

const httpResult = (r: autocannon.Result): HttpResult => ({
  event: "result",
  requests: r.requests.total,
  seconds: r.duration,
  requestsPerSecond: r.requests.total / r.duration,
  latencyP50Ms: r.latency.p50,
  latencyP99Ms: r.latency.p99,
  non2xx: r.non2xx,
  errors: r.errors
})

/** The first delta with text in it (the role chunk before it has `"content":""`). */
const CONTENT = /"content":"[^"]/

/** One streaming request: milliseconds until the first content chunk, after reading the stream to its end. */
const timeToFirstContent = async (url: string, body: string): Promise<number> => {
  const start = performance.now()
  const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(15_000) })
  if (res.status !== 200 || res.body === null) throw new Error(`status ${res.status}`)
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let ttft = Number.NaN
  let pending = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (!Number.isNaN(ttft)) continue
    pending += value
    if (CONTENT.test(pending)) ttft = performance.now() - start
    else pending = pending.slice(-32) // enough to catch a match split across chunks
  }
  if (Number.isNaN(ttft)) throw new Error("the stream ended without content")
  return ttft
}

interface Samples {
  readonly ttfts: Array<number>
  failures: number
}

/** `rounds` rounds for each URL in turn, each round `concurrency` streams at once. */
const streamRounds = async (job: StreamJob, rounds: number): Promise<Array<Samples>> => {
  const samples: Array<Samples> = job.urls.map(() => ({ ttfts: [], failures: 0 }))
  for (let round = 0; round < rounds; round++) {
    for (const [i, url] of job.urls.entries()) {
      const results = await Promise.allSettled(
        Array.from({ length: job.concurrency }, () => timeToFirstContent(url, job.body))
      )
      for (const r of results) {
        if (r.status === "fulfilled") samples[i]!.ttfts.push(r.value)
        else samples[i]!.failures++
      }
    }
  }
  return samples
}

const streamResult = (samples: ReadonlyArray<Samples>): StreamResult => ({
  event: "result",
  byUrl: samples.map(({ failures, ttfts }) => ({
    streams: ttfts.length,
    failures,
    ttftP50Ms: percentile(ttfts, 50),
    ttftP99Ms: percentile(ttfts, 99)
  }))
})

const main = async (): Promise<void> => {
  const job = JSON.parse(process.argv[2] ?? "null") as LoadJob
  const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  if (job.kind === "http") await hammer(job, job.warmupSeconds)
  else await streamRounds(job, job.warmupRounds)
  process.stdout.write(`${JSON.stringify({ event: "warm" })}\n`)
  await stdin.next() // the parent's go
  const result = job.kind === "http" ?
    httpResult(await hammer(job, job.seconds)) :
    streamResult(await streamRounds(job, job.rounds))
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`load: ${e instanceof Error ? e.stack : String(e)}\n`)
    process.exit(1)
  })
}
