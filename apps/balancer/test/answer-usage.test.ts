import { describe, expect, it } from "@effect/vitest"
import { OpenAi } from "@llmlb/core"
import { FastCheck as fc } from "effect"
import { answerUsage } from "../src/proxy/AnswerUsage.js"

/** What the relay read before: the whole answer parsed. */
const parsedUsage = (text: string) => {
  try {
    return OpenAi.usageCounts(JSON.parse(text))
  } catch {
    return undefined
  }
}

const usageOf = (text: string) => answerUsage(Buffer.from(text, "utf8"))

const usageArb = fc.record({
  prompt_tokens: fc.oneof(fc.nat(), fc.constant(null), fc.string()),
  completion_tokens: fc.oneof(fc.nat(), fc.constant(null)),
  total_tokens: fc.nat(),
  prompt_tokens_details: fc.oneof(fc.constant(null), fc.record({ cached_tokens: fc.nat() }))
}, { requiredKeys: ["prompt_tokens"] })

/** Answers with choices whose texts hold quotes, braces and "usage", and usage where it may be. */
const answerArb = fc.record({
  id: fc.string(),
  choices: fc.array(fc.record({
    index: fc.nat(),
    message: fc.record({ role: fc.constant("assistant"), content: fc.oneof(fc.string(), fc.constantFrom('"usage":{"prompt_tokens":9}', "}{][\\\"")) }),
    usage: fc.option(usageArb, { nil: undefined })
  }), { maxLength: 3 }),
  usage: fc.oneof(usageArb, fc.constant(null), fc.string(), fc.constant(undefined)),
  extra: fc.jsonValue({ maxDepth: 3 })
}, { requiredKeys: ["choices"] })

describe("answerUsage", () => {
  it("reads the usage of an answer", () => {
    const text = `{"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}`
    expect(usageOf(text)).toEqual({ promptTokens: 12, completionTokens: 5 })
  })

  it("finds only the top-level member, the last one when it is given twice, past spaces and escapes", () => {
    expect(usageOf(`{"choices":[{"usage":{"prompt_tokens":1}}],"x":"\\"usage\\":{\\"prompt_tokens\\":2}"}`)).toBeUndefined()
    expect(usageOf(`{"usage":{"prompt_tokens":1},"usage" : {"prompt_tokens":3,"completion_tokens":4}}`))
      .toEqual({ promptTokens: 3, completionTokens: 4 })
    expect(usageOf(`{"usage":{"prompt_tokens":1},"usage":null}`)).toBeUndefined()
    expect(usageOf(`{"a\\"usage":{"prompt_tokens":1}}`)).toBeUndefined()
    expect(usageOf(`{"a\\\\":"\\\\","usage":{"prompt_tokens":2}}`)).toEqual({ promptTokens: 2, completionTokens: 0 })
    expect(usageOf(`{"a":"\\\\","usage":{"prompt_tokens":2},"b":{"usage":{"prompt_tokens":3}}}`))
      .toEqual({ promptTokens: 2, completionTokens: 0 })
    expect(usageOf(`{"a":"usage","b":["usage"],"usage":\n{"prompt_tokens":7,"details":{"x":[1,{}]}}}`))
      .toEqual({ promptTokens: 7, completionTokens: 0 })
  })

  it("has none for a truncated or unreadable usage", () => {
    expect(usageOf(`{"usage":{"prompt_tokens":1`)).toBeUndefined()
    expect(usageOf(`{"usage":{"prompt_tokens":}}`)).toBeUndefined()
    expect(usageOf(``)).toBeUndefined()
  })

  it.prop("agrees with parsing the whole answer, for any answer", [answerArb, fc.constantFrom(undefined, 2)], ([answer, indent]) => {
    const text = JSON.stringify(answer, null, indent)
    expect(usageOf(text)).toEqual(parsedUsage(text))
  })
})
