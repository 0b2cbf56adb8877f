/**
 * Watches an upstream SSE stream for token usage on its way to the client.
 *
 * Passthrough (the client asked for usage, or the balancer did not change the request): the upstream's
 * chunks go out unchanged. Filtering (the balancer added `stream_options.include_usage`): the client
 * must not see the usage-only chunk nor the `"usage":null` the option adds. A chunk that holds whole
 * events needing no change still goes out as the same bytes (the common case: one event per chunk);
 * otherwise the completed events go out re-encoded and a partial one waits for its end.
 */
import { OpenAi, Sse } from "@llmlb/core"

const USAGE_NULL = ',"usage":null}'

const LF = 10
const CR = 13

/** The chunk ends with a blank line, so it ends exactly at an event boundary. */
const endsEvent = (chunk: Buffer): boolean => {
  const n = chunk.length
  if (n < 2) return false
  const last = chunk[n - 1]
  const before = chunk[n - 2]
  return (last === LF && (before === LF || (before === CR && n >= 4 && chunk[n - 3] === LF && chunk[n - 4] === CR))) ||
    (last === CR && before === CR)
}

export class StreamTap {
  private readonly parser = new Sse.SseParser()
  /** The last usage block seen. */
  usage: OpenAi.UsageCounts | undefined
  /** Chunks that carried generated text: the estimate of completion tokens when no usage comes. */
  contentChunks = 0
  /** Everything received so far has been passed on: no partial event is held back. */
  private aligned = true

  constructor(private readonly filter: boolean) {}

  /** Takes an upstream chunk; returns what the client gets now (possibly nothing). */
  push(chunk: Buffer): Buffer | string {
    const events = this.parser.push(chunk)
    // Set when an event must change: `dropped[i]` for the usage-only chunk.
    let dropped: Array<boolean> | undefined
    for (let i = 0; i < events.length; i++) {
      const data = events[i]!.data
      if (this.inspect(data)) (dropped ??= [])[i] = true
      else if (data.endsWith(USAGE_NULL)) dropped ??= []
    }
    if (!this.filter) return chunk
    const wasAligned = this.aligned
    this.aligned = endsEvent(chunk)
    if (wasAligned && this.aligned && dropped === undefined) return chunk
    let out = ""
    for (let i = 0; i < events.length; i++) {
      if (dropped?.[i]) continue
      const event = events[i]!
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
      this.usage = OpenAi.usageCounts(parsed) ?? this.usage
      if (OpenAi.isUsageOnlyChunk(parsed)) return true
    }
    if (data.includes('"choices":[{') && !data.includes('"content":""') && !data.includes('"text":""')) {
      this.contentChunks++
    }
    return false
  }
}
