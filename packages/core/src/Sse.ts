/**
 * Incremental Server-Sent Events parser, following the WHATWG HTML "event stream interpretation"
 * rules (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 *
 * Built for the proxy's hot path: one `TextDecoder` in streaming mode (so a UTF-8 character split
 * across chunks decodes correctly, and the stream's leading BOM is stripped), line ends found with
 * `indexOf` and field names compared in place, so a line costs one string for its value and nothing
 * for its field name or a comment.
 *
 * @since 0.1.0
 */

/** One dispatched event. */
export interface SseEvent {
  /** The event type: the last `event` field of the event, `"message"` when there was none (or it was empty). */
  readonly event: string
  /** The `data` lines of the event joined with `"\n"`. */
  readonly data: string
  /**
   * The stream's last event ID at dispatch time: per spec it persists across events until another
   * `id` field changes it (an empty `id` sets it to `""`). `undefined` while the stream has set none.
   */
  readonly id: string | undefined
}

const LF = 10
const COLON = 58
const SPACE = 32

/**
 * Feed it the raw bytes of one event stream, split anywhere: inside a line, between `\r` and `\n`,
 * inside a UTF-8 character. `\n`, `\r\n` and a lone `\r` all end a line.
 *
 * Ignored, as the spec says: comment lines (starting with `:`), unknown fields, `retry` (this parser
 * does not reconnect), an `id` containing U+0000, and an event whose data buffer is empty (no `data` line).
 */
export class SseParser {
  /** `ignoreBOM: false` (the default): the decoder drops one U+FEFF at the very start of the stream. */
  private decoder = new TextDecoder("utf-8")
  /** The start of a line whose end has not arrived yet. */
  private partialLine = ""
  /** The text seen so far ended with `\r`: a `\n` starting the next text belongs to the same line end. */
  private skipLf = false
  /** The data buffer; `undefined` = no `data` line yet (the spec's empty data buffer). */
  private data: string | undefined = undefined
  private eventType = ""
  private lastEventId: string | undefined = undefined

  /** Feed raw bytes. Returns the events completed by this chunk, in order. */
  push(chunk: Uint8Array): Array<SseEvent> {
    const events: Array<SseEvent> = []
    const text = this.decoder.decode(chunk, { stream: true })
    if (text.length > 0) this.feed(text, events)
    return events
  }

  /**
   * End of stream. Per spec "any pending data must be discarded": an event whose blank line has not
   * arrived (terminated lines or not) is never dispatched, so this always returns an empty array.
   * It flushes the decoder and resets every buffer (the last event ID included), so the parser can
   * read a new stream.
   */
  end(): Array<SseEvent> {
    this.decoder.decode()
    this.partialLine = ""
    this.skipLf = false
    this.data = undefined
    this.eventType = ""
    this.lastEventId = undefined
    return []
  }

  private feed(text: string, events: Array<SseEvent>): void {
    const length = text.length
    let start = 0
    if (this.skipLf) {
      this.skipLf = false
      if (text.charCodeAt(0) === LF) start = 1
    }
    let lf = text.indexOf("\n", start)
    let cr = text.indexOf("\r", start)
    while (lf !== -1 || cr !== -1) {
      let end: number
      let next: number
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf
        next = lf + 1
      } else {
        end = cr
        next = cr + 1
        if (next === length) this.skipLf = true
        else if (text.charCodeAt(next) === LF) next++
      }
      if (this.partialLine.length === 0) {
        this.line(text, start, end, events)
      } else {
        const line = this.partialLine + text.slice(start, end)
        this.partialLine = ""
        this.line(line, 0, line.length, events)
      }
      start = next
      if (lf !== -1 && lf < start) lf = text.indexOf("\n", start)
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start)
    }
    if (start < length) this.partialLine += text.slice(start)
  }

  /** Interprets the line `text[start, end)`. */
  private line(text: string, start: number, end: number, events: Array<SseEvent>): void {
    if (start === end) return this.dispatch(events)
    if (text.charCodeAt(start) === COLON) return
    let colon = start + 1
    while (colon < end && text.charCodeAt(colon) !== COLON) colon++
    const nameLength = colon - start
    const isData = nameLength === 4 && text.startsWith("data", start)
    const isEvent = !isData && nameLength === 5 && text.startsWith("event", start)
    const isId = !isData && !isEvent && nameLength === 2 && text.startsWith("id", start)
    if (!isData && !isEvent && !isId) return
    let valueStart = colon + 1
    if (valueStart < end && text.charCodeAt(valueStart) === SPACE) valueStart++
    const value = valueStart < end ? text.slice(valueStart, end) : ""
    if (isData) this.data = this.data === undefined ? value : this.data + "\n" + value
    else if (isEvent) this.eventType = value
    else if (value.indexOf("\0") === -1) this.lastEventId = value
  }

  private dispatch(events: Array<SseEvent>): void {
    const data = this.data
    const event = this.eventType
    this.data = undefined
    this.eventType = ""
    if (data === undefined) return
    events.push({ event: event.length === 0 ? "message" : event, data, id: this.lastEventId })
  }
}

const lineBreak = /\r\n|\r|\n/

/**
 * One unnamed event carrying `data`: `"data: <data>\n\n"`. A line break in `data` (`\n`, `\r\n` or
 * `\r`) starts another `data:` line, so the parser reads the data back with its line breaks as `\n`.
 */
export const encodeEvent = (data: string): string =>
  data.indexOf("\n") === -1 && data.indexOf("\r") === -1
    ? `data: ${data}\n\n`
    : `data: ${data.split(lineBreak).join("\ndata: ")}\n\n`
