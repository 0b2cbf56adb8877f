/**
 * A simulated vLLM server on plain `node:http`: OpenAI-compatible routes with vLLM's bodies, SSE chunks and
 * errors, deterministic token accounting, a FIFO waiting queue behind `maxConcurrency`, Prometheus metrics,
 * fault injection and control routes. Built for speed: with zero delays a request runs without a timer,
 * JSON parse of the body and one serialisation of the answer are the only per-request work.
 */
import { Prefix } from "@llmlb/core"
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { defaultOptions, type Fault, mergeOptions, type SimOptions, SimOptionsError } from "./Options.js"
import { BLOCK_TOKENS, blockChain, promptTokensOf } from "./PrefixCache.js"
import {
  apiError,
  type ApiError,
  ChunkWriter,
  completionBody,
  completionOf,
  DONE,
  embeddingsBody,
  errorBody,
  type GenRequest,
  isApiError,
  parseGenRequest,
  responseId,
  type Route,
  tokenText
} from "./Protocol.js"

export interface SimCounters {
  /** Requests to `/v1/*` (control routes, `/metrics` and `/health` are not counted). */
  readonly requests: number
  /** `/v1/*` requests by path. */
  readonly byRoute: Record<string, number>
  /** Generation requests holding a concurrency slot now. */
  readonly running: number
  /** Generation requests in the FIFO queue now. */
  readonly waiting: number
  /** The peak of `running` since start or the last reset. */
  readonly maxRunning: number
  /** Generation requests answered in full (200). */
  readonly completed: number
  /** Generation requests whose client disconnected before the end. */
  readonly aborted: number
  /** Tokens of the completed requests. */
  readonly promptTokens: number
  readonly completionTokens: number
  /** Injected faults (status answers, hangs, slow headers, closed connections). */
  readonly faults: number
  /** Engine model: prompt tokens looked up in the prefix cache, and those found there. */
  readonly prefixCacheQueries: number
  readonly prefixCacheHits: number
}

export interface ReceivedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string | string[] | undefined>
  /** The parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  readonly body: unknown
}

export interface UpstreamSim {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** `url + "/v1"`, the OpenAI base URL. */
  readonly baseUrl: string
  readonly port: number
  /** The current options. */
  readonly options: SimOptions
  /** Changes options at run time (validated; throws `SimOptionsError`). A new fault restarts its every-Nth count. */
  set(patch: Partial<SimOptions>): void
  /** A snapshot of the counters. */
  counters(): SimCounters
  /** The last 200 requests to `/v1/*`, oldest first. */
  received(): ReadonlyArray<ReceivedRequest>
  /** Zeroes the counters (running and waiting stay live), forgets the received requests and empties the prefix cache. */
  reset(): void
  /** Closes the server and destroys every open socket, hanging requests included. */
  close(): Promise<void>
}

export interface StartOptions extends Partial<SimOptions> {
  /** 0 (default) = a free port. */
  readonly port?: number
  /** Default 127.0.0.1. */
  readonly host?: string
}

const RECEIVED_MAX = 200

// Job states
const NEW = 0
const QUEUED = 1
const RUNNING = 2
const DONE_STATE = 3

interface ModelStats {
  running: number
  waiting: number
  promptTokens: number
  generationTokens: number
  success: number
  prefixQueries: number
  prefixHits: number
}

/** One generation request from acceptance to its end. */
class Job {
  state = NEW
  timer: NodeJS.Timeout | undefined = undefined
  /** close-mid-stream: chunks to send before closing the connection; -1 = no fault. */
  closeAfter = -1
  chunks = 0
  step = 0
  writer: ChunkWriter | undefined = undefined
  /** `performance.now()` at which the next streamed token is due. */
  dueAt = 0
  /** The role-only chunk went out before the first token (`roleChunkEarly`). */
  roleSent = false
  /** Engine model: the prompt's block chain, and the KV blocks the job holds while it runs. */
  chain: ReadonlyArray<number> = []
  kvBlocks = 0
  readonly id: string
  readonly created: number
  readonly tokens: number
  readonly finish: "stop" | "length"
  constructor(
    readonly req: GenRequest,
    readonly res: http.ServerResponse,
    readonly stats: ModelStats,
    outputTokens: number
  ) {
    this.id = responseId(req.route)
    this.created = Math.floor(Date.now() / 1000)
    const c = completionOf(req, outputTokens)
    this.tokens = req.route === "embeddings" ? 0 : c.tokens
    this.finish = c.finish
  }
}

const JSON_TYPE = "application/json"
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" }
const NOT_FOUND = `{"detail":"Not Found"}`
const METHOD_NOT_ALLOWED = `{"detail":"Method Not Allowed"}`

const send = (res: http.ServerResponse, status: number, body: string, type: string = JSON_TYPE): void => {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const sendJson = (res: http.ServerResponse, value: unknown): void => send(res, 200, JSON.stringify(value))

const sendError = (res: http.ServerResponse, e: ApiError): void => send(res, e.status, e.body)

/** Reads the whole body as text, without copying when it arrives in one chunk. */
const readBody = (req: http.IncomingMessage, done: (text: string) => void): void => {
  let first: Buffer | undefined
  let more: Array<Buffer> | undefined
  req.on("data", (chunk: Buffer) => {
    if (first === undefined) first = chunk
    else (more ??= [first]).push(chunk)
  })
  req.on("end", () => done(more ? Buffer.concat(more).toString("utf8") : first ? first.toString("utf8") : ""))
}

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; value: string; error: string } => {
  if (text.length === 0) return { ok: true, value: undefined }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (e) {
    return { ok: false, value: text, error: e instanceof Error ? e.message : String(e) }
  }
}

const routes: Record<string, Route> = {
  "/v1/chat/completions": "chat",
  "/v1/completions": "completions",
  "/v1/embeddings": "embeddings"
}

const zeroCounters = () => ({
  requests: 0,
  byRoute: {} as Record<string, number>,
  maxRunning: 0,
  completed: 0,
  aborted: 0,
  promptTokens: 0,
  completionTokens: 0,
  faults: 0,
  prefixCacheQueries: 0,
  prefixCacheHits: 0
})

/** The answer of a `status` fault: its body (vLLM-style unless given) and `Retry-After`. */
const sendFault = (res: http.ServerResponse, fault: Extract<Fault, { kind: "status" }>): void => {
  const text = fault.body === undefined ?
    errorBody(fault.status, `Simulated fault: HTTP ${fault.status}`) :
    typeof fault.body === "string" ?
    fault.body :
    JSON.stringify(fault.body)
  const headers: http.OutgoingHttpHeaders = {
    "content-type": typeof fault.body === "string" ? "text/plain; charset=utf-8" : JSON_TYPE,
    "content-length": Buffer.byteLength(text)
  }
  if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.ceil(fault.retryAfterSeconds))
  res.writeHead(fault.status, headers)
  res.end(text)
}

/** Starts a simulated vLLM server; rejects with `SimOptionsError` on invalid options. */
export const startSim = async (options: StartOptions = {}): Promise<UpstreamSim> => {
  const { port = 0, host = "127.0.0.1", ...patch } = options
  let opts = mergeOptions(defaultOptions, patch)
  let expectedAuth = opts.apiKey === null ? null : `Bearer ${opts.apiKey}`
  const startedAt = Math.floor(Date.now() / 1000)

  let c = zeroCounters()
  let running = 0
  let waiting = 0
  let faultSeq = 0
  const modelStats = new Map<string, ModelStats>()
  const statsFor = (model: string): ModelStats => {
    let s = modelStats.get(model)
    if (s === undefined) {
      s = { running: 0, waiting: 0, promptTokens: 0, generationTokens: 0, success: 0, prefixQueries: 0, prefixHits: 0 }
      modelStats.set(model, s)
    }
    return s
  }

  let received: Array<ReceivedRequest | undefined> = []
  let receivedCount = 0
  const record = (r: ReceivedRequest): void => {
    received[receivedCount % RECEIVED_MAX] = r
    receivedCount++
  }

  let modelsBody: string | undefined
  const modelsJson = (): string =>
    modelsBody ??= JSON.stringify({
      object: "list",
      data: opts.models.map((id) => ({
        id,
        object: "model",
        created: startedAt,
        owned_by: "vllm",
        root: id,
        parent: null,
        max_model_len: 8192
      }))
    })

  // ---- the engine model: prefix cache, one prefill at a time, KV blocks of the running jobs ----
  const engine = () => opts.prefillTokensPerSecond > 0
  const prefixCache = new Prefix.PrefixSet(opts.numGpuBlocks)
  /** performance.now() at which the prefill of everything started so far is done. */
  let prefillFreeAt = 0
  let kvInUse = 0

  /**
   * Prefix cache lookup and prefill of a job that starts now: milliseconds until its prefill is done.
   * vLLM recomputes at least the prompt's last token, so a full hit still prefills one.
   */
  const prefill = (job: Job, now: number): number => {
    const prompt = job.req.promptTokens
    const hits = Math.min(prefixCache.matched(job.chain) * BLOCK_TOKENS, prompt - 1)
    prefixCache.record(job.chain)
    c.prefixCacheQueries += prompt
    c.prefixCacheHits += hits
    job.stats.prefixQueries += prompt
    job.stats.prefixHits += hits
    prefillFreeAt = Math.max(now, prefillFreeAt) + ((prompt - hits) / opts.prefillTokensPerSecond) * 1000
    return prefillFreeAt - now
  }

  /** One decode step now: slower the more requests share the batch. */
  const stepMs = () => opts.interTokenMs + (engine() ? opts.decodeMsPerSeq * running : 0)

  /** A slot under max-num-seqs and, in the engine model, room for its KV blocks (or nothing else runs). */
  const canStart = (job: Job): boolean =>
    (opts.maxConcurrency === 0 || running < opts.maxConcurrency) &&
    (!engine() || running === 0 || kvInUse + job.kvBlocks <= opts.numGpuBlocks)

  // ---- concurrency: slots and the FIFO waiting queue (aborted jobs are skipped lazily) ----
  let queue: Array<Job> = []
  let queueHead = 0
  let draining = false

  const drain = (): void => {
    if (draining) return // a job finishing synchronously inside start(): the outer loop carries on
    draining = true
    try {
      while (queueHead < queue.length && canStart(queue[queueHead]!)) {
        const job = queue[queueHead++]!
        if (queueHead === queue.length) {
          queue = []
          queueHead = 0
        } else if (queueHead >= 1024 && queueHead * 2 >= queue.length) {
          queue = queue.slice(queueHead)
          queueHead = 0
        }
        if (job.state !== QUEUED) continue
        waiting--
        job.stats.waiting--
        start(job)
      }
    } finally {
      draining = false
    }
  }

  /** Ends a job's claim on the sim: clears its timer, leaves the queue or frees its slot. */
  const release = (job: Job): void => {
    if (job.timer !== undefined) {
      clearTimeout(job.timer)
      job.timer = undefined
    }
    const was = job.state
    job.state = DONE_STATE
    if (was === QUEUED) {
      waiting--
      job.stats.waiting--
    } else if (was === RUNNING) {
      running--
      job.stats.running--
      kvInUse -= job.kvBlocks
      drain()
    }
  }

  const finish = (job: Job): void => {
    const completion = job.tokens * job.req.choices
    c.completed++
    c.promptTokens += job.req.promptTokens
    c.completionTokens += completion
    job.stats.success++
    job.stats.promptTokens += job.req.promptTokens
    job.stats.generationTokens += completion
    release(job)
  }

  const onClose = (job: Job): void => {
    if (job.state === DONE_STATE) return
    c.aborted++
    release(job)
  }

  /** close-mid-stream: end the connection after what was written (the client sees a truncated response). */
  const faultClose = (job: Job): void => {
    c.faults++
    release(job)
    const res = job.res
    if (!res.headersSent) res.writeHead(200, job.req.stream ? SSE_HEADERS : { "content-type": JSON_TYPE })
    res.flushHeaders()
    const socket = res.socket
    if (socket !== null) {
      socket.once("finish", () => socket.destroy())
      socket.end()
    }
  }

  /** Writes one SSE chunk, or closes the connection instead when the close-mid-stream fault says so. */
  const emit = (job: Job, chunk: string, last: boolean): boolean => {
    if (job.chunks === job.closeAfter) {
      faultClose(job)
      return false
    }
    job.chunks++
    if (last) job.res.end(chunk)
    else job.res.write(chunk)
    return true
  }

  /** Runs `step` at `job.dueAt` (see `preciseTimers`); a job released meanwhile is not run. */
  const wakeAt = (job: Job, step: (job: Job) => void): void => {
    const wait = job.dueAt - performance.now()
    if (!opts.preciseTimers) {
      job.timer = setTimeout(step, Math.max(0, wait), job)
      return
    }
    const spin = (): void => {
      job.timer = undefined
      if (job.state !== RUNNING) return
      if (performance.now() >= job.dueAt) step(job)
      else setImmediate(spin)
    }
    if (wait > 2) job.timer = setTimeout(spin, wait - 2)
    else spin()
  }

  const streamStep = (job: Job): void => {
    job.timer = undefined
    const req = job.req
    const writer = job.writer ??= new ChunkWriter(req, job.id, job.created)
    const steps = Math.max(job.tokens, 1) // max_tokens 0: one chunk with the finish reason
    for (;;) {
      if (job.state !== RUNNING) return
      const k = job.step++
      const last = k === steps - 1
      if (k === 0 && req.route === "chat" && !job.roleSent && !emit(job, writer.role(), false)) return
      const text = job.tokens === 0 ? "" : tokenText(k + 1)
      for (let i = 0; i < req.choices; i++) {
        if (!emit(job, writer.token(i, text, last ? job.finish : null, job.tokens === 0 ? 0 : k * req.choices + i + 1), false)) return
      }
      if (last) {
        if (req.includeUsage && !emit(job, writer.usage(job.tokens * req.choices), false)) return
        if (emit(job, DONE, true)) finish(job)
        return
      }
      const itl = stepMs()
      if (itl > 0) {
        // Each gap from this token's actual send, as an engine's steps follow each other; with precise
        // timers, on the exact clock (first token + k gaps), so that a late wake-up does not shift the rest.
        job.dueAt = (opts.preciseTimers ? job.dueAt : performance.now()) + itl
        return wakeAt(job, streamStep)
      }
    }
  }

  const respond = (job: Job): void => {
    job.timer = undefined
    if (job.state !== RUNNING) return
    const res = job.res
    if (job.closeAfter >= 0) return faultClose(job)
    const req = job.req
    send(
      res,
      200,
      req.route === "embeddings" ?
        embeddingsBody(req, job.id, job.created, opts.embeddingDims) :
        completionBody(req, job.id, job.created, job.tokens, job.finish)
    )
    finish(job)
  }

  const start = (job: Job): void => {
    job.state = RUNNING
    running++
    job.stats.running++
    if (running > c.maxRunning) c.maxRunning = running
    const req = job.req
    const now = performance.now()
    let prefillMs = 0
    if (engine() && req.route !== "embeddings") {
      kvInUse += job.kvBlocks
      prefillMs = prefill(job, now)
    }
    // Non-streaming: the whole generation time (first token, then one decode step per further token).
    const delay = prefillMs + (req.stream ?
      opts.ttftMs :
      req.route === "embeddings" ?
      opts.ttftMs :
      opts.ttftMs + stepMs() * Math.max(job.tokens - 1, 0))
    const run = req.stream ? streamStep : respond
    if (req.stream && req.route === "chat" && opts.roleChunkEarly && delay > 0) {
      job.writer = new ChunkWriter(req, job.id, job.created)
      if (!emit(job, job.writer.role(), false)) return
      job.roleSent = true
    }
    job.dueAt = now + delay
    if (delay > 0) {
      if (req.stream) job.res.flushHeaders()
      wakeAt(job, run)
    } else run(job)
  }

  /** Streaming answers send their headers at once, as vLLM does, even while the request waits for a slot. */
  const admit = (job: Job): void => {
    job.timer = undefined
    if (job.req.stream) job.res.writeHead(200, SSE_HEADERS)
    if (canStart(job) && queueHead === queue.length) start(job)
    else {
      job.state = QUEUED
      waiting++
      job.stats.waiting++
      queue.push(job)
      if (job.req.stream) job.res.flushHeaders()
      drain() // the jobs ahead may all have gone away
    }
  }

  const accept = (req: GenRequest, res: http.ServerResponse, body: unknown): void => {
    const fault = opts.fault
    if (fault.kind === "status") {
      faultSeq++
      if (faultSeq % (fault.every ?? 1) === 0) {
        c.faults++
        sendFault(res, fault)
        return
      }
    }
    const job = new Job(req, res, statsFor(req.model), opts.outputTokens)
    if (engine() && req.route !== "embeddings") {
      job.chain = blockChain(promptTokensOf(body))
      job.kvBlocks = Math.ceil((req.promptTokens + job.tokens * req.choices) / BLOCK_TOKENS)
    }
    res.on("close", () => onClose(job))
    switch (fault.kind) {
      case "hang":
        c.faults++
        return
      case "slow-headers":
        c.faults++
        job.timer = setTimeout(admit, fault.delayMs, job)
        return
      case "close-mid-stream":
        job.closeAfter = fault.afterChunks
        break
    }
    admit(job)
  }

  const v1 = (req: http.IncomingMessage, res: http.ServerResponse, path: string): void => {
    c.requests++
    c.byRoute[path] = (c.byRoute[path] ?? 0) + 1
    readBody(req, (text) => {
      const body = parseJson(text)
      const method = req.method ?? "GET"
      record({ method, path, headers: req.headers, body: body.value })
      if (expectedAuth !== null && req.headers.authorization !== expectedAuth) {
        send(res, 401, `{"error":"Unauthorized"}`)
        return
      }
      const route = routes[path]
      if (route === undefined) {
        if (path !== "/v1/models") send(res, 404, NOT_FOUND)
        else if (method === "GET") send(res, 200, modelsJson())
        else send(res, 405, METHOD_NOT_ALLOWED)
        return
      }
      if (method !== "POST") return send(res, 405, METHOD_NOT_ALLOWED)
      if (!body.ok) return sendError(res, apiError(400, `JSON decode error: ${body.error}`))
      const parsed = parseGenRequest(route, body.value, opts.models)
      if (isApiError(parsed)) return sendError(res, parsed)
      accept(parsed, res, body.value)
    })
  }

  /** The exposition; with `only`, the samples of those names alone (prometheus_client's `name[]` filter). */
  const metricsText = (only?: ReadonlySet<string>): string => {
    const kv = engine() ?
      Math.min(1, kvInUse / opts.numGpuBlocks) :
      opts.maxConcurrency > 0 ?
      Math.min(1, running / opts.maxConcurrency) :
      running / (running + 32)
    const families: Array<[name: string, type: string, help: string, value: (s: ModelStats) => number]> = [
      ["vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", (s) => s.running],
      ["vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", (s) => s.waiting],
      ["vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", () => kv],
      ["vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage (deprecated name). 1 means 100 percent usage.", () => kv],
      ["vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", (s) => s.promptTokens],
      ["vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", (s) => s.generationTokens],
      ["vllm:request_success_total", "counter", "Count of successfully processed requests.", (s) => s.success],
      ["vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in terms of number of queried tokens.", (s) => s.prefixQueries],
      ["vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.", (s) => s.prefixHits]
    ]
    let out = only !== undefined && !only.has("vllm:cache_config_info") ? "" :
      `# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n# TYPE vllm:cache_config_info gauge\n` +
      `vllm:cache_config_info{block_size="${BLOCK_TOKENS}",enable_prefix_caching="${engine() ? "True" : "False"}",num_gpu_blocks="${opts.numGpuBlocks}"} 1.0\n`
    for (const [name, type, help, value] of families) {
      if (only !== undefined && !only.has(name)) continue
      // prometheus_client names a counter's family without _total and its sample with it.
      const family = type === "counter" ? name.replace(/_total$/, "") : name
      out += `# HELP ${family} ${help}\n# TYPE ${family} ${type}\n`
      for (const model of opts.models) {
        out += `${name}{model_name=${JSON.stringify(model)}} ${value(statsFor(model))}\n`
      }
    }
    return out
  }

  const set = (p: Partial<SimOptions>): void => {
    const next = mergeOptions(opts, p)
    if (p.fault !== undefined) faultSeq = 0
    opts = next
    prefixCache.resize(opts.numGpuBlocks)
    expectedAuth = opts.apiKey === null ? null : `Bearer ${opts.apiKey}`
    modelsBody = undefined
    drain()
  }

  const counters = (): SimCounters => ({ ...c, byRoute: { ...c.byRoute }, running, waiting })

  const receivedList = (): ReadonlyArray<ReceivedRequest> => {
    const n = Math.min(receivedCount, RECEIVED_MAX)
    const out: Array<ReceivedRequest> = []
    for (let i = receivedCount - n; i < receivedCount; i++) out.push(received[i % RECEIVED_MAX]!)
    return out
  }

  const reset = (): void => {
    c = zeroCounters()
    c.maxRunning = running
    received = []
    receivedCount = 0
    faultSeq = 0
    prefixCache.clear()
    for (const s of modelStats.values()) {
      s.promptTokens = 0
      s.generationTokens = 0
      s.success = 0
      s.prefixQueries = 0
      s.prefixHits = 0
    }
  }

  const control = (req: http.IncomingMessage, res: http.ServerResponse, path: string): void => {
    readBody(req, (text) => {
      const method = req.method ?? "GET"
      const key = `${method} ${path}`
      switch (key) {
        case "GET /sim/stats":
          return sendJson(res, counters())
        case "GET /sim/config":
          return sendJson(res, opts)
        case "GET /sim/received":
          return sendJson(res, receivedList())
        case "POST /sim/reset":
          reset()
          return sendJson(res, { ok: true })
        case "POST /sim/config": {
          const body = parseJson(text)
          if (!body.ok) return sendError(res, apiError(400, `JSON decode error: ${body.error}`))
          try {
            set(body.value as Partial<SimOptions>)
          } catch (e) {
            if (e instanceof SimOptionsError) return sendError(res, apiError(400, e.message))
            throw e
          }
          return sendJson(res, opts)
        }
        default:
          return send(res, 404, NOT_FOUND)
      }
    })
  }

  const server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const path = q === -1 ? url : url.slice(0, q)
    if (path.startsWith("/v1/")) v1(req, res, path)
    else if (path.startsWith("/sim/")) control(req, res, path)
    else if (path === "/metrics" && req.method === "GET") {
      const names = q === -1 ? [] : new URLSearchParams(url.slice(q + 1)).getAll("name[]")
      send(res, 200, metricsText(names.length === 0 ? undefined : new Set(names)), "text/plain; version=0.0.4; charset=utf-8")
    } else if (path === "/health" && req.method === "GET") send(res, 200, "", "text/plain")
    else {
      req.resume()
      send(res, 404, NOT_FOUND)
    }
  })
  server.keepAliveTimeout = 30_000

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => {
      server.off("error", reject)
      resolve()
    })
  })
  const actualPort = (server.address() as AddressInfo).port
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
  const url = `http://${urlHost}:${actualPort}`

  let closing: Promise<void> | undefined
  return {
    url,
    baseUrl: `${url}/v1`,
    port: actualPort,
    get options() {
      return opts
    },
    set,
    counters,
    received: receivedList,
    reset,
    close: () =>
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

/** The sim as a scoped resource: started on acquire, closed when the scope closes. */
export const simScoped = (options?: StartOptions) =>
  Effect.acquireRelease(Effect.promise(() => startSim(options)), (s) => Effect.promise(() => s.close()))
