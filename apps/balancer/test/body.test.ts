import { describe, expect, it } from "@effect/vitest"
import { JsonProblem, MAX_JSON_DEPTH } from "@llmlb/core"
import { FastCheck as fc } from "effect"
import { parseRequestBody, tokenEstimate, withUsageRequested } from "../src/proxy/Body.js"

const USAGE = `"stream_options":{"include_usage":true},`

const problemOf = (text: string | Buffer) => {
  const parsed = parseRequestBody(typeof text === "string" ? Buffer.from(text) : text)
  return parsed instanceof JsonProblem ? { message: parsed.message, param: parsed.param } : parsed
}

describe("parseRequestBody", () => {
  it("answers the parsed object of a sane body", () => {
    expect(problemOf(`{"model":"m1","messages":[],"max_tokens":null,"stream":null,"stream_options":null}`))
      .toEqual({ model: "m1", messages: [], max_tokens: null, stream: null, stream_options: null })
  })

  it.each([
    ["bytes that are not UTF-8", Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), "The request body is not valid UTF-8", undefined],
    ["nesting past the limit", `{"model":"m1","x":${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}}`, `nests deeper than ${MAX_JSON_DEPTH} levels`, undefined],
    ["broken JSON", `{"model":`, "it is not valid JSON", undefined],
    ["an array", `[{"model":"m1"}]`, "must be a JSON object", undefined],
    ["a key given twice", `{"model":"m1","stream":false,"stream":true}`, `gives the key "stream" more than once`, "stream"],
    ["no model", `{"messages":[]}`, "You must provide a model parameter", "model"],
    ["a model that is not a string", `{"model":["m1"]}`, "You must provide a model parameter", "model"],
    ["a model of 257 characters", JSON.stringify({ model: "m".repeat(257) }), "model must be at most 256 characters", "model"],
    ["a stream flag that is not a boolean", `{"model":"m1","stream":"true"}`, "stream must be a boolean", "stream"],
    ["stream options that are not an object", `{"model":"m1","stream":true,"stream_options":"usage"}`, "stream_options must be an object", "stream_options"]
  ])("refuses %s, saying why", (_, body, message, param) => {
    expect(problemOf(body)).toEqual({ message: expect.stringContaining(message), param })
  })

  it("makes a __proto__ key an own key, setting no prototype", () => {
    const body = parseRequestBody(Buffer.from(`{"model":"m1","__proto__":{"stream":true,"polluted":1}}`)) as Record<string, unknown>
    expect([Object.getPrototypeOf(body), body.stream, Object.keys(body)]).toEqual([Object.prototype, undefined, ["model", "__proto__"]])
  })
})

describe("withUsageRequested", () => {
  it("splices the usage request into the client's own bytes, numbers beyond a double included", () => {
    const raw = Buffer.from(` \n{"model":"m1","seed":123456789012345678901234567890,"temperature":1e999,"stream":true}`)
    const body = parseRequestBody(raw) as Record<string, unknown>
    expect(withUsageRequested(raw, body)!.toString())
      .toBe(` \n{${USAGE}"model":"m1","seed":123456789012345678901234567890,"temperature":1e999,"stream":true}`)
  })

  it("leaves a body that asks for usage as it is, and adds include_usage to other options", () => {
    const asked = Buffer.from(`{"model":"m1","stream":true,"stream_options":{"include_usage":true}}`)
    expect(withUsageRequested(asked, parseRequestBody(asked) as Record<string, unknown>)).toBeUndefined()
    for (const options of [`{"continuous_usage_stats":true}`, `{"include_usage":false}`, "null"]) {
      const raw = Buffer.from(`{"model":"m1","stream":true,"stream_options":${options}}`)
      const rewritten = withUsageRequested(raw, parseRequestBody(raw) as Record<string, unknown>)
      expect(JSON.parse(String(rewritten))).toEqual({
        model: "m1",
        stream: true,
        stream_options: { ...JSON.parse(options), include_usage: true }
      })
    }
  })

  it.prop(
    "sends every member of any body, and nothing else but the usage request",
    [fc.dictionary(fc.string().filter((key) => key !== "stream_options" && key !== "model"), fc.jsonValue({ maxDepth: 4 })), fc.boolean()],
    ([extra, spaced]) => {
      const raw = Buffer.from(JSON.stringify({ model: "m1", ...extra }, null, spaced ? 2 : undefined))
      const body = parseRequestBody(raw)
      if (body instanceof JsonProblem) return // e.g. a "stream" that is not a boolean: refused, as above
      const sent = withUsageRequested(raw, body)!
      expect(JSON.parse(String(sent))).toEqual({ stream_options: { include_usage: true }, ...JSON.parse(raw.toString()) })
      expect(Buffer.byteLength(sent) - raw.length).toBe(USAGE.length)
    }
  )
})

describe("tokenEstimate", () => {
  const estimate = (fields: Record<string, unknown>, embedding = false) => tokenEstimate(fields, embedding, 10, 256)

  it("adds the completion a request allows to its prompt estimate", () => {
    expect([
      estimate({ max_tokens: 100 }),
      estimate({ max_completion_tokens: 50, max_tokens: 100 }),
      estimate({ max_completion_tokens: null, max_tokens: 100 }),
      estimate({}),
      estimate({ max_tokens: 100 }, true)
    ]).toEqual([110, 60, 110, 266, 10])
  })

  it("takes the default for a count the upstream will refuse, and caps a huge one", () => {
    expect([-5, 1.5, Infinity, NaN, "100", true].map((max_tokens) => estimate({ max_tokens }))).toEqual(Array(6).fill(266))
    expect(estimate({ max_tokens: 1e30 })).toBe(10 + 2 ** 31 - 1)
  })
})
