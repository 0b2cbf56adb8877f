import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { encodeEvent, type SseEvent, SseParser } from "../src/Sse.js"

const encoder = new TextEncoder()
const bytes = (text: string): Uint8Array => encoder.encode(text)

/** Feeds the chunks in order to a fresh parser, then ends the stream; returns every event. */
const parseChunks = (chunks: ReadonlyArray<Uint8Array>): Array<SseEvent> => {
  const parser = new SseParser()
  const events: Array<SseEvent> = []
  for (const chunk of chunks) events.push(...parser.push(chunk))
  events.push(...parser.end())
  return events
}

/** Parses text given as string chunks (each chunk encoded on its own). */
const parse = (...chunks: ReadonlyArray<string>): Array<SseEvent> => parseChunks(chunks.map(bytes))

/** Splits `buffer` at the given offsets (taken modulo its length + 1, in any order, repeats allowed). */
const split = (buffer: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = offsets.map((offset) => offset % (buffer.length + 1)).sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const point of [...points, buffer.length]) {
    chunks.push(buffer.subarray(start, point))
    start = point
  }
  return chunks
}

const message = (data: string, id?: string): SseEvent => ({ event: "message", data, id })

describe("SseParser", () => {
  describe("lines", () => {
    it("dispatches an event at a blank line", () => {
      expect(parse("data: hello\n\n")).toEqual([message("hello")])
    })

    it("ends lines with \\r\\n", () => {
      expect(parse("data: a\r\ndata: b\r\n\r\n")).toEqual([message("a\nb")])
    })

    it("ends lines with a lone \\r", () => {
      expect(parse("data: a\rdata: b\r\r")).toEqual([message("a\nb")])
    })

    it("mixes line endings in one stream", () => {
      expect(parse("data: a\rdata: b\r\ndata: c\n\r\n")).toEqual([message("a\nb\nc")])
    })

    it("reads \\r at the end of a chunk and \\n at the start of the next as one line ending", () => {
      // Were they two, the second would be a blank line dispatching "a" alone.
      expect(parse("data: a\r", "\ndata: b\n\n")).toEqual([message("a\nb")])
    })

    it("keeps a pending \\r across an empty chunk", () => {
      expect(parseChunks([bytes("data: a\r"), new Uint8Array(0), bytes("\ndata: b\n\n")])).toEqual([message("a\nb")])
    })

    it("reads \\r then \\r across chunks as two line endings", () => {
      expect(parse("data: a\r", "\r")).toEqual([message("a")])
    })

    it("joins a line split across chunks", () => {
      expect(parse("da", "ta: he", "llo", "\n", "\n")).toEqual([message("hello")])
    })

    it("decodes a multi-byte character split across chunks", () => {
      const buffer = bytes("data: 中😀\n\n")
      const chunks = Array.from(buffer, (byte) => Uint8Array.of(byte))
      expect(parseChunks(chunks)).toEqual([message("中😀")])
    })

    it("returns the events a chunk completes, in order", () => {
      const parser = new SseParser()
      expect(parser.push(bytes("data: 1\n\ndata: 2\n\ndata: 3"))).toEqual([message("1"), message("2")])
      expect(parser.push(bytes("\n\n"))).toEqual([message("3")])
    })
  })

  describe("fields", () => {
    it("ignores comment lines", () => {
      expect(parse(": keep-alive\ndata: a\n:\n: another\ndata: b\n\n")).toEqual([message("a\nb")])
    })

    it("joins data lines with \\n", () => {
      expect(parse("data: a\ndata: b\ndata: c\n\n")).toEqual([message("a\nb\nc")])
    })

    it("reads a field without a colon as the field with an empty value", () => {
      expect(parse("data\n\n")).toEqual([message("")])
      expect(parse("data\ndata\n\n")).toEqual([message("\n")])
    })

    it("strips one space after the colon, no more", () => {
      expect(parse("data:x\n\n")).toEqual([message("x")])
      expect(parse("data: x\n\n")).toEqual([message("x")])
      expect(parse("data:  x \n\n")).toEqual([message(" x ")])
    })

    it("keeps the colons of a value after the first", () => {
      expect(parse('data: {"a":1}\n\n')).toEqual([message('{"a":1}')])
    })

    it("sets the event type from the event field and resets it after dispatch", () => {
      expect(parse("event: delta\ndata: x\n\ndata: y\n\n")).toEqual([
        { event: "delta", data: "x", id: undefined },
        message("y")
      ])
    })

    it("reads an empty event type as message", () => {
      expect(parse("event:\ndata: x\n\n")).toEqual([message("x")])
    })

    it("does not dispatch an event with an empty data buffer, and resets its event type", () => {
      expect(parse("event: ping\n\n")).toEqual([])
      expect(parse("event: ping\n\ndata: x\n\n")).toEqual([message("x")])
    })

    it("keeps the last event id across events until an id field changes it", () => {
      expect(parse("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\ndata: d\n\n")).toEqual([
        message("a", "1"),
        message("b", "1"),
        message("c", ""),
        message("d", "2")
      ])
    })

    it("ignores an id containing U+0000", () => {
      expect(parse("id: 1\n\nid: 2\0\ndata: a\n\n")).toEqual([message("a", "1")])
    })

    it("ignores retry and unknown fields", () => {
      expect(parse("retry: 1000\nfoo: bar\ndatum: x\nDATA: y\ndata: z\n\n")).toEqual([message("z")])
    })

    it("strips one byte order mark at the start of the stream", () => {
      expect(parse("\uFEFFdata: a\n\n")).toEqual([message("a")])
    })

    it("strips a byte order mark split across chunks", () => {
      expect(parseChunks([Uint8Array.of(0xef, 0xbb), Uint8Array.of(0xbf), bytes("data: a\n\n")])).toEqual([
        message("a")
      ])
    })

    it("keeps a second byte order mark, which then is part of the field name", () => {
      expect(parse("\uFEFF\uFEFFdata: a\n\ndata: b\n\n")).toEqual([message("b")])
    })
  })

  describe("end", () => {
    it("discards an event whose blank line never came", () => {
      const parser = new SseParser()
      expect(parser.push(bytes("data: a\n\ndata: b\n"))).toEqual([message("a")])
      expect(parser.end()).toEqual([])
    })

    it("discards an unterminated last line", () => {
      const parser = new SseParser()
      expect(parser.push(bytes("data: a"))).toEqual([])
      expect(parser.end()).toEqual([])
    })

    it("resets the parser for a new stream", () => {
      const parser = new SseParser()
      parser.push(bytes("id: 7\ndata: a\n\nevent: x\ndata: b\ndata: c"))
      parser.end()
      expect(parser.push(bytes("\uFEFFdata: d\n\n"))).toEqual([message("d")])
    })
  })

  it("reads a vLLM chat stream with usage and [DONE]", () => {
    const chunk = (choices: ReadonlyArray<unknown>, usage?: unknown) =>
      JSON.stringify({
        id: "chatcmpl-7f3c",
        object: "chat.completion.chunk",
        created: 1732200000,
        model: "meta-llama/Llama-3.1-8B-Instruct",
        choices,
        ...(usage === undefined ? {} : { usage })
      })
    const usage = { prompt_tokens: 12, total_tokens: 15, completion_tokens: 3 }
    const payloads = [
      chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: "Hallo" }, logprobs: null, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: " Welt ✓" }, logprobs: null, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: "" }, logprobs: null, finish_reason: "stop", stop_reason: null }]),
      chunk([], usage),
      "[DONE]"
    ]
    const stream = bytes(payloads.map((payload) => `data: ${payload}\n\n`).join(""))
    const events = parseChunks(split(stream, [7, 100, 101, 333, 334, 335, 600]))
    expect(events).toEqual(payloads.map((payload) => message(payload)))
    const parsed = events.slice(0, -1).map((event) => JSON.parse(event.data))
    expect(parsed.map((c) => c.choices[0]?.delta.content ?? null).join("|")).toBe("|Hallo| Welt ✓||")
    expect(parsed[4].usage).toEqual(usage)
  })
})

describe("encodeEvent", () => {
  it("writes one data line and a blank line", () => {
    expect(encodeEvent('{"a":1}')).toBe('data: {"a":1}\n\n')
  })

  it("writes an empty data line for empty data", () => {
    expect(encodeEvent("")).toBe("data: \n\n")
  })

  it("writes a data line per line of multi-line data", () => {
    expect(encodeEvent("a\nb\r\nc\rd")).toBe("data: a\ndata: b\ndata: c\ndata: d\n\n")
  })

  it.prop(
    "reads back as its data, line breaks as \\n",
    [fc.string({ unit: "binary" })],
    ([data]) => {
      expect(parse(encodeEvent(data))).toEqual([message(data.replace(/\r\n|\r/g, "\n"))])
    }
  )
})

// ------------------------------------------------------------------------------------------------
// Properties: any event stream, split anywhere, reads back as its events.
// ------------------------------------------------------------------------------------------------

/** Text of one line: any unicode (emoji, CJK, combining marks) except line breaks. */
const lineText = fc
  .oneof(
    fc.string({ unit: "binary" }),
    fc.string({ unit: "grapheme" }),
    fc.array(fc.constantFrom("😀", "👩‍👩‍👧", "中文", "日本語", "é", ":", " ", "\uFEFF", "\0", "data: x")).map((parts) =>
      parts.join("")
    )
  )
  .map((text) => text.replace(/[\r\n]/g, ""))

const lineEnding = fc.constantFrom("\n", "\r\n", "\r")

/** An event as written: `data` undefined = no data line (then it must not dispatch). */
interface SourceEvent {
  readonly event: string | undefined
  readonly id: string | undefined
  readonly data: ReadonlyArray<string> | undefined
  readonly comments: ReadonlyArray<{ readonly at: number; readonly text: string }>
}

const sourceEvent: fc.Arbitrary<SourceEvent> = fc.record({
  event: fc.option(lineText, { nil: undefined }),
  id: fc.option(lineText.map((text) => text.replace(/\0/g, "")), { nil: undefined }),
  data: fc.option(fc.array(lineText, { minLength: 1, maxLength: 4 }), { nil: undefined, freq: 6 }),
  comments: fc.array(fc.record({ at: fc.nat(), text: lineText }), { maxLength: 3 })
})

interface SourceStream {
  readonly bom: boolean
  readonly events: ReadonlyArray<SourceEvent>
  readonly endings: ReadonlyArray<string>
}

const stream: fc.Arbitrary<SourceStream> = fc.record({
  bom: fc.boolean(),
  events: fc.array(sourceEvent, { maxLength: 8 }),
  endings: fc.array(lineEnding, { minLength: 1 })
})

/** Writes the events as lines, each ended by the next ending of `endings` (cycled), then encodes them. */
const encodeStream = (source: SourceStream): Uint8Array => {
  const lines: Array<string> = []
  for (const event of source.events) {
    const fields: Array<string> = []
    if (event.event !== undefined) fields.push(`event: ${event.event}`)
    if (event.id !== undefined) fields.push(`id: ${event.id}`)
    for (const data of event.data ?? []) fields.push(`data: ${data}`)
    for (const comment of event.comments) fields.splice(comment.at % (fields.length + 1), 0, `:${comment.text}`)
    lines.push(...fields, "")
  }
  let text = source.bom ? "\uFEFF" : ""
  let previous = ""
  lines.forEach((line, i) => {
    let ending = source.endings[i % source.endings.length]!
    // A "\r" then a blank line ended by "\n" is one "\r\n": the blank line would vanish.
    if (previous === "\r" && line === "" && ending === "\n") ending = "\r"
    text += line + ending
    previous = ending
  })
  return bytes(text)
}

/** What the spec says the events dispatch as: the last event id persists, no data = no event. */
const expectedEvents = (events: ReadonlyArray<SourceEvent>): Array<SseEvent> => {
  const expected: Array<SseEvent> = []
  let lastId: string | undefined
  for (const event of events) {
    if (event.id !== undefined) lastId = event.id
    if (event.data !== undefined) {
      expected.push({ event: event.event || "message", data: event.data.join("\n"), id: lastId })
    }
  }
  return expected
}

describe("SseParser properties", () => {
  it.prop(
    "reads any event stream as its events",
    [stream],
    ([source]) => {
      expect(parseChunks([encodeStream(source)])).toEqual(expectedEvents(source.events))
    }
  )

  it.prop(
    "reads any split of the bytes as the whole buffer at once",
    [stream, fc.array(fc.nat(), { maxLength: 40 })],
    ([source, offsets]) => {
      const buffer = encodeStream(source)
      const whole = parseChunks([buffer])
      expect(parseChunks(split(buffer, offsets))).toEqual(whole)
      expect(whole).toEqual(expectedEvents(source.events))
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "reads the bytes fed one at a time as the whole buffer at once",
    [stream],
    ([source]) => {
      const buffer = encodeStream(source)
      expect(parseChunks(Array.from(buffer, (byte) => Uint8Array.of(byte)))).toEqual(parseChunks([buffer]))
    }
  )
})
