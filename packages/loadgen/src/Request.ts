/**
 * One request and its per-chunk trace, in plain Node: an undici dispatch handler whose callbacks take
 * `performance.now()` as each piece of the body arrives, an incremental SSE parse, and one JSON.parse per
 * event. No fiber, no Schema, no stream machinery between the socket and the timestamps.
 */
import { Sse } from "@llmlb/core"
import type { Dispatcher } from "undici"
import type { RequestRecord } from "./Records.js"

export interface RequestSpec {
  readonly id: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: string
  readonly stream: boolean
  readonly continuousUsage: boolean
  readonly inputEstimate: number
  readonly timeoutMs: number
  /** `performance.now()` of the schedule's send time. */
  readonly intendedAt: number
  readonly warmup: boolean
}

/** Live hooks on the per-chunk path: called synchronously, must be cheap. */
export interface ChunkHooks {
  /** An output chunk: its gap to the previous one (null for the first: then `ttftMs`) and its tokens. */
  readonly onOutput: (ttftMs: number | null, gapMs: number | null, tokens: number) => void
}

/** An error answer's body is kept up to this many characters (its message is what the record needs). */
const ERROR_BODY_MAX = 4096

/** Epoch seconds of a `performance.now()` reading. */
export const epochSeconds = (now: number): number => (performance.timeOrigin + now) / 1000

const errorText = (status: number, body: string): string => {
  try {
    const parsed = JSON.parse(body)
    const message = parsed?.error?.message ?? parsed?.error ?? parsed?.message ?? parsed?.detail
    if (typeof message === "string") return `HTTP ${status}: ${message}`
  } catch {
    // not JSON: the text itself
  }
  return `HTTP ${status}: ${body.slice(0, 200) || "(empty body)"}`
}

/** Whether a chat delta or a text choice carries output (the role-only opening chunk does not). */
const carriesOutput = (choice: any): boolean => {
  if (choice === undefined || choice === null) return false
  const delta = choice.delta
  if (delta !== undefined && delta !== null) {
    return (typeof delta.content === "string" && delta.content.length > 0) ||
      (typeof delta.reasoning_content === "string" && delta.reasoning_content.length > 0) ||
      (typeof delta.reasoning === "string" && delta.reasoning.length > 0) ||
      (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0)
  }
  return typeof choice.text === "string" && choice.text.length > 0
}

/**
 * A request in flight. `abort(reason)` ends it early (the record says why); `done` receives the record
 * exactly once, whatever happens.
 */
export class InFlight {
  private controller: Dispatcher.DispatchController | null = null
  private finished = false
  private timer: NodeJS.Timeout | undefined
  private status = 0
  private endpoint: string | null = null
  private parser: Sse.SseParser | null = null
  private body = ""
  private sentAt = 0
  private firstAt = -1
  private lastAt = -1
  private readonly itls: Array<number> = []
  private chunkTokens: Array<number> | null = null
  private outputChunks = 0
  private promptTokens = -1
  private completionTokens = -1
  private streamError: string | null = null
  private pendingAbort: string | null = null
  /** An output chunk carried its own usage (continuous usage stats): chunk token counts are known. */
  private continuousSeen = false

  constructor(
    private readonly spec: RequestSpec,
    private readonly hooks: ChunkHooks,
    private readonly done: (record: RequestRecord) => void
  ) {}

  /** Sends now; the send time is taken here. */
  send(dispatcher: Dispatcher): void {
    const spec = this.spec
    this.sentAt = performance.now()
    if (spec.stream) this.parser = new Sse.SseParser()
    if (spec.continuousUsage) this.chunkTokens = []
    this.timer = setTimeout(() => this.abort(`timeout after ${spec.timeoutMs / 1000} s`), spec.timeoutMs)
    const self = this
    dispatcher.dispatch({ path: spec.path, method: "POST", headers: spec.headers, body: spec.body }, {
      onRequestStart(controller) {
        self.controller = controller
        if (self.pendingAbort !== null) controller.abort(new Error(self.pendingAbort))
      },
      onResponseStart(_controller, statusCode, headers) {
        self.status = statusCode
        const endpoint = headers["x-lb-endpoint"]
        self.endpoint = typeof endpoint === "string" ? endpoint : Array.isArray(endpoint) ? endpoint[0] ?? null : null
        if (statusCode !== 200) self.parser = null
      },
      onResponseData(_controller, chunk) {
        // the arrival time first, before any parsing
        const now = performance.now()
        if (self.parser !== null) self.onEvents(self.parser.push(chunk), now)
        else if (self.status === 200 || self.body.length < ERROR_BODY_MAX) self.body += chunk.toString("utf8")
      },
      onResponseEnd() {
        self.onEnd(performance.now())
      },
      onResponseError(_controller, error) {
        self.fail(performance.now(), self.pendingAbort ?? (error.message || String(error)))
      }
    })
  }

  /** Ends the request now (timeout, stop): recorded as failed with `reason`. */
  abort(reason: string): void {
    if (this.finished) return
    this.pendingAbort = reason
    if (this.controller !== null) this.controller.abort(new Error(reason))
    else this.fail(performance.now(), reason)
  }

  private onEvents(events: ReadonlyArray<{ readonly data: string }>, now: number): void {
    for (const event of events) {
      const data = event.data
      if (data === "[DONE]") continue
      let parsed: any
      try {
        parsed = JSON.parse(data)
      } catch {
        this.streamError ??= `malformed SSE data: ${data.slice(0, 100)}`
        continue
      }
      if (parsed === null || typeof parsed !== "object") continue
      if (parsed.error !== undefined && parsed.error !== null) {
        this.streamError ??= `stream error: ${parsed.error.message ?? JSON.stringify(parsed.error)}`
        continue
      }
      const usage = parsed.usage
      let delta = -1
      if (usage !== undefined && usage !== null) {
        if (typeof usage.prompt_tokens === "number") this.promptTokens = usage.prompt_tokens
        if (typeof usage.completion_tokens === "number") {
          delta = usage.completion_tokens - Math.max(0, this.completionTokens)
          this.completionTokens = usage.completion_tokens
        }
      }
      const choices = parsed.choices
      if (Array.isArray(choices) && choices.length > 0 && carriesOutput(choices[0])) this.output(now, delta)
    }
  }

  /** `usageDelta`: the chunk's own completion tokens when it carried usage, else -1 (counted as 1). */
  private output(now: number, usageDelta: number): void {
    const tokens = usageDelta >= 0 ? usageDelta : 1
    if (usageDelta >= 0) this.continuousSeen = true
    if (this.chunkTokens !== null) this.chunkTokens.push(tokens)
    this.outputChunks++
    if (this.firstAt < 0) {
      this.firstAt = now
      this.hooks.onOutput(now - this.sentAt, null, tokens)
    } else {
      const gap = now - this.lastAt
      this.itls.push(gap)
      this.hooks.onOutput(null, gap, tokens)
    }
    this.lastAt = now
  }

  private onEnd(now: number): void {
    if (this.status !== 200) return this.fail(now, errorText(this.status, this.body))
    if (this.parser === null) {
      // Non-streaming: the whole answer is its first and last output.
      let parsed: any
      try {
        parsed = JSON.parse(this.body)
      } catch {
        return this.fail(now, `malformed JSON body: ${this.body.slice(0, 100)}`)
      }
      const usage = parsed?.usage
      if (typeof usage?.prompt_tokens === "number") this.promptTokens = usage.prompt_tokens
      if (typeof usage?.completion_tokens === "number") this.completionTokens = usage.completion_tokens
      this.outputChunks = 1
      this.firstAt = now
      this.lastAt = now
      this.hooks.onOutput(now - this.sentAt, null, Math.max(1, this.completionTokens))
      return this.finish(true, null)
    }
    if (this.streamError !== null) return this.fail(now, this.streamError)
    this.finish(true, null)
  }

  private fail(now: number, error: string): void {
    this.lastAt = now
    this.finish(false, error)
  }

  private finish(ok: boolean, error: string | null): void {
    if (this.finished) return
    this.finished = true
    clearTimeout(this.timer)
    const spec = this.spec
    const hasOutput = this.firstAt >= 0
    const estimated = this.completionTokens < 0
    const outputTokens = estimated ? this.outputChunks : this.completionTokens
    const ttft = hasOutput ? this.firstAt - this.sentAt : null
    const e2el = this.lastAt >= 0 ? this.lastAt - this.sentAt : null
    this.done({
      request_id: spec.id,
      start_time: epochSeconds(this.sentAt),
      intended_time: epochSeconds(spec.intendedAt),
      status: this.status,
      ok,
      ttft_ms: ttft,
      e2el_ms: e2el,
      tpot_ms: ok && ttft !== null && e2el !== null && outputTokens > 1 ? (e2el - ttft) / (outputTokens - 1) : null,
      itls_ms: this.itls,
      chunk_tokens: this.continuousSeen ? this.chunkTokens : null,
      input_tokens: this.promptTokens >= 0 ? this.promptTokens : spec.inputEstimate,
      output_tokens: outputTokens,
      estimated,
      endpoint: this.endpoint,
      error,
      client_queue_ms: Math.max(0, this.sentAt - spec.intendedAt),
      warmup: spec.warmup
    })
  }
}
