/**
 * Watches an upstream SSE stream for token usage on its way to the client.
 *
 * Passthrough (the client asked for usage, or the balancer did not change the request): the upstream's
 * chunks go out unchanged. Filtering (the balancer added `stream_options.include_usage`): whole events
 * go out as they complete, without the usage-only chunk and the `"usage":null` the option adds, so the
 * client sees the stream it asked for.
 */
import { OpenAi, Sse } from "@llmlb/core"

export interface TapUsage {
  readonly promptTokens: number
  readonly completionTokens: number
}

const USAGE_NULL = ',"usage":null}'

export class StreamTap {
  private readonly parser = new Sse.SseParser()
  /** The last usage block seen. */
  usage: TapUsage | undefined
  /** Chunks that carried generated text: the estimate of completion tokens when no usage comes. */
  contentChunks = 0

  constructor(private readonly filter: boolean) {}

  /** Takes an upstream chunk; returns what the client gets now (possibly nothing). */
  push(chunk: Buffer): Buffer | string {
    const events = this.parser.push(chunk)
    if (!this.filter) {
      for (const event of events) this.inspect(event.data)
      return chunk
    }
    let out = ""
    for (const event of events) {
      if (this.inspect(event.data)) continue
      const data = event.data.endsWith(USAGE_NULL) ? event.data.slice(0, -USAGE_NULL.length) + "}" : event.data
      out += event.event === "message" ? Sse.encodeEvent(data) : `event: ${event.event}\n${Sse.encodeEvent(data)}`
    }
    return out
  }

  /** Records usage and content; true when the event is a usage-only chunk. */
  private inspect(data: string): boolean {
    if (data.includes('"usage":{')) {
      let parsed: unknown
      try {
        parsed = JSON.parse(data)
      } catch {
        return false
      }
      const usage = (parsed as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } }).usage
      if (typeof usage?.prompt_tokens === "number") {
        this.usage = {
          promptTokens: usage.prompt_tokens,
          completionTokens: typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0
        }
      }
      if (OpenAi.isUsageOnlyChunk(parsed)) return true
    }
    if (data.includes('"choices":[{') && !data.includes('"content":""') && !data.includes('"text":""')) {
      this.contentChunks++
    }
    return false
  }
}
