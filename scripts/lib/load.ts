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
 * - `requests`: a fixed number of chat completions of random sizes (drawn from a seeded PRNG before the warm
 *   line, so that runs are comparable), a fixed number in flight, counted by the `X-LB-Endpoint` answer header.
 */
import autocannon from "autocannon"
import { Agent, request as httpRequest } from "node:http"
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

export interface RequestsJob {
  readonly kind: "requests"
  readonly url: string
  readonly model: string
  readonly count: number
  readonly concurrency: number
  readonly seed: number
  /** Words of the prompt, drawn uniformly from this range (inclusive). */
  readonly promptWords: readonly [number, number]
  /** `max_tokens`, drawn uniformly from this range (inclusive). */
  readonly maxTokens: readonly [number, number]
  /** The share of the requests (0..1) sent with `stream: true`. */
  readonly streamShare: number
}

/**
 * One request at a time (concurrency 1) on a keep-alive connection per URL, each timed with `performance.now()`
 * (autocannon's whole milliseconds are too coarse for sub-millisecond differences); the URLs take turns, `batch`
 * requests each, so a disturbance of the machine hits them alike.
 */
export interface SerialJob {
  readonly kind: "serial"
  readonly urls: ReadonlyArray<string>
  readonly body: string
  readonly warmupRequests: number
  /** Measured requests per URL. */
  readonly requests: number
  readonly batch: number
}

export type LoadJob = HttpJob | StreamJob | RequestsJob | SerialJob

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

export interface LatencyStats {
  readonly requests: number
  readonly failures: number
  readonly p50Ms: number
  readonly p99Ms: number
}

export interface SerialResult {
  readonly event: "result"
  /** In the order of `SerialJob.urls`. */
  readonly byUrl: ReadonlyArray<LatencyStats>
}

export interface RequestsResult {
  readonly event: "result"
  readonly completed: number
  readonly failures: number
  /** The first failure's message, null when none failed. */
  readonly firstFailure: string | null
  readonly seconds: number
  /** Completed requests by their `X-LB-Endpoint` header ("" when absent). */
  readonly byEndpoint: Record<string, number>
  /** The largest prompt words + max_tokens of one request: its token count at most. */
  readonly largestRequestTokens: number
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
  /** Milliseconds of each success. */
  readonly ms: Array<number>
  failures: number
}

/** `rounds` rounds for each URL in turn, each round `concurrency` streams at once. */
const streamRounds = async (job: StreamJob, rounds: number): Promise<Array<Samples>> => {
  const samples: Array<Samples> = job.urls.map(() => ({ ms: [], failures: 0 }))
  for (let round = 0; round < rounds; round++) {
    for (const [i, url] of job.urls.entries()) {
      const results = await Promise.allSettled(
        Array.from({ length: job.concurrency }, () => timeToFirstContent(url, job.body))
      )
      for (const r of results) {
        if (r.status === "fulfilled") samples[i]!.ms.push(r.value)
        else samples[i]!.failures++
      }
    }
  }
  return samples
}

const streamResult = (samples: ReadonlyArray<Samples>): StreamResult => ({
  event: "result",
  byUrl: samples.map(({ failures, ms }) => ({
    streams: ms.length,
    failures,
    ttftP50Ms: percentile(ms, 50),
    ttftP99Ms: percentile(ms, 99)
  }))
})

/** One POST on `agent`'s kept-alive connection, its answer read to the end: milliseconds until the end. */
const timedPost = (url: URL, agent: Agent, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const start = performance.now()
    const req = httpRequest(url, { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      res.on("data", () => {})
      res.on("end", () => res.statusCode === 200 ? resolve(performance.now() - start) : reject(new Error(`status ${res.statusCode}`)))
      res.on("error", reject)
    })
    req.setTimeout(15_000, () => req.destroy(new Error("timeout")))
    req.on("error", reject)
    req.end(body)
  })

/** `count` requests per URL, one at a time, the URLs in turns of `job.batch`. */
const serialRequests = async (job: SerialJob, count: number, agents: ReadonlyArray<Agent>): Promise<Array<Samples>> => {
  const urls = job.urls.map((u) => new URL(u))
  const samples: Array<Samples> = job.urls.map(() => ({ ms: [], failures: 0 }))
  for (let done = 0; done < count; done += job.batch) {
    for (const [i, url] of urls.entries()) {
      for (let k = 0; k < Math.min(job.batch, count - done); k++) {
        try {
          samples[i]!.ms.push(await timedPost(url, agents[i]!, job.body))
        } catch {
          samples[i]!.failures++
        }
      }
    }
  }
  return samples
}

const serialResult = (samples: ReadonlyArray<Samples>): SerialResult => ({
  event: "result",
  byUrl: samples.map(({ failures, ms }) => ({
    requests: ms.length,
    failures,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99)
  }))
})

/** mulberry32: a small, fast, seeded PRNG; floats in [0, 1). */
const prng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ["route", "token", "share", "model", "queue", "proxy", "stream", "upstream", "balance", "weight"]

interface Planned {
  readonly body: string
  readonly tokens: number
}

const planRequests = (job: RequestsJob): Array<Planned> => {
  const random = prng(job.seed)
  const between = ([min, max]: readonly [number, number]): number => min + Math.floor(random() * (max - min + 1))
  return Array.from({ length: job.count }, () => {
    const words = between(job.promptWords)
    const maxTokens = between(job.maxTokens)
    const content = Array.from({ length: words }, () => WORDS[Math.floor(random() * WORDS.length)]!).join(" ")
    const stream = random() < job.streamShare
    const body = JSON.stringify({ model: job.model, messages: [{ role: "user", content }], max_tokens: maxTokens, stream })
    return { body, tokens: words + maxTokens }
  })
}

/** One request, its answer read to the end; the `X-LB-Endpoint` header of a 200. */
const answeredBy = async (url: string, body: string): Promise<string> => {
  const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(30_000) })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text.slice(0, 200)}`)
  return res.headers.get("x-lb-endpoint") ?? ""
}

/** The planned requests, `job.concurrency` in flight until all have been sent. */
const runRequests = async (job: RequestsJob, planned: ReadonlyArray<Planned>): Promise<RequestsResult> => {
  const byEndpoint: Record<string, number> = {}
  let completed = 0
  let failures = 0
  let firstFailure: string | null = null
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: job.concurrency }, async () => {
    while (next < planned.length) {
      const { body } = planned[next++]!
      try {
        const endpoint = await answeredBy(job.url, body)
        byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + 1
        completed++
      } catch (e) {
        failures++
        firstFailure ??= e instanceof Error ? e.message : String(e)
      }
    }
  }))
  return {
    event: "result",
    completed,
    failures,
    firstFailure,
    seconds: (performance.now() - start) / 1_000,
    byEndpoint,
    largestRequestTokens: Math.max(0, ...planned.map((p) => p.tokens))
  }
}

const main = async (): Promise<void> => {
  const job = JSON.parse(process.argv[2] ?? "null") as LoadJob
  const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const planned = job.kind === "requests" ? planRequests(job) : []
  const agents = job.kind === "serial" ? job.urls.map(() => new Agent({ keepAlive: true, maxSockets: 1 })) : []
  if (job.kind === "http") await hammer(job, job.warmupSeconds)
  else if (job.kind === "stream") await streamRounds(job, job.warmupRounds)
  else if (job.kind === "serial") await serialRequests(job, job.warmupRequests, agents)
  process.stdout.write(`${JSON.stringify({ event: "warm" })}\n`)
  await stdin.next() // the parent's go
  const result = job.kind === "http" ?
    httpResult(await hammer(job, job.seconds)) :
    job.kind === "stream" ?
    streamResult(await streamRounds(job, job.rounds)) :
    job.kind === "serial" ?
    serialResult(await serialRequests(job, job.requests, agents)) :
    await runRequests(job, planned)
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`load: ${e instanceof Error ? e.stack : String(e)}\n`)
    process.exit(1)
  })
}
