import { describe, expect, it } from "@effect/vitest"
import { Either, ParseResult, Schema } from "effect"
import * as OpenAi from "../src/OpenAi.js"

/** Decodes `input`, failing the test with the parse error's message when it does not decode. */
const decode = <A, I>(schema: Schema.Schema<A, I>, input: unknown): A => Schema.decodeUnknownSync(schema)(input)

/**
 * Where `input` fails to decode: the distinct paths (`"messages.0.content"`) of its ParseError's
 * issues, in order; a union reports each member's. Fails the test when `input` decodes.
 */
const rejectedAt = <A, I>(schema: Schema.Schema<A, I>, input: unknown): Array<string> => {
  const result = Schema.decodeUnknownEither(schema)(input)
  if (Either.isRight(result)) throw new Error(`decoded: ${JSON.stringify(result.right)}`)
  expect(ParseResult.isParseError(result.left)).toBe(true)
  const issues = ParseResult.ArrayFormatter.formatErrorSync(result.left)
  return [...new Set(issues.map((issue) => issue.path.join(".")))]
}

const model = "meta-llama/Llama-3.1-8B-Instruct"

/** vLLM's usage block: `prompt_tokens_details` is null unless prefix caching stats are on. */
const vllmUsage = { prompt_tokens: 25, total_tokens: 37, completion_tokens: 12, prompt_tokens_details: null }

describe("ChatCompletionRequest", () => {
  it("decodes a request with the OpenAI parameters the balancer reads", () => {
    const request = decode(OpenAi.ChatCompletionRequest, {
      model,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: [{ type: "text", text: "Hi" }, { type: "image_url", image_url: { url: "data:," } }] }
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 128,
      max_completion_tokens: 64,
      temperature: 0,
      top_p: 0.9,
      n: 1,
      seed: 42,
      stop: ["\n\n"],
      user: "alice",
      tools: [{ type: "function", function: { name: "now", parameters: { type: "object", properties: {} } } }],
      tool_choice: "auto"
    })
    expect(request.model).toBe(model)
    expect(request.stream_options?.include_usage).toBe(true)
    expect(request.max_completion_tokens).toBe(64)
    expect(request.messages[1]?.content).toEqual([
      { type: "text", text: "Hi" },
      { type: "image_url", image_url: { url: "data:," } }
    ])
    expect(request.tools?.[0]?.function.name).toBe("now")
  })

  it("decodes an assistant tool call and a tool answer in the history", () => {
    const request = decode(OpenAi.ChatCompletionRequest, {
      model,
      messages: [
        { role: "user", content: "Time?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "now", arguments: "{}" } }]
        },
        { role: "tool", tool_call_id: "call_1", content: "12:00" }
      ]
    })
    expect(request.messages[1]?.content).toBeNull()
    expect(request.messages[2]?.tool_call_id).toBe("call_1")
  })

  it("accepts null for optional parameters and keeps vLLM's sampling extras", () => {
    const request = decode(OpenAi.ChatCompletionRequest, {
      model,
      messages: [{ role: "user", content: "x" }],
      max_tokens: null,
      stream: null,
      ignore_eos: true,
      min_tokens: 100,
      top_k: 20
    })
    expect(request.max_tokens).toBeNull()
    expect(request.ignore_eos).toBe(true)
    expect(request.min_tokens).toBe(100)
  })

  it("ignores fields it does not model", () => {
    const request = decode(OpenAi.ChatCompletionRequest, {
      model,
      messages: [{ role: "user", content: "x" }],
      chat_template_kwargs: { enable_thinking: false },
      guided_json: { type: "object" }
    })
    expect(request).toEqual({ model, messages: [{ role: "user", content: "x" }] })
  })

  it("rejects a request without a model", () => {
    expect(rejectedAt(OpenAi.ChatCompletionRequest, { messages: [] })).toEqual(["model"])
  })

  it("rejects an empty model", () => {
    expect(rejectedAt(OpenAi.ChatCompletionRequest, { model: "", messages: [] })).toEqual(["model"])
  })

  it("rejects messages that are not an array", () => {
    expect(rejectedAt(OpenAi.ChatCompletionRequest, { model, messages: "hi" })).toEqual(["messages"])
  })

  it("rejects negative or fractional token limits", () => {
    const messages = [{ role: "user", content: "x" }]
    expect(rejectedAt(OpenAi.ChatCompletionRequest, { model, messages, max_tokens: -1 })).toEqual(["max_tokens"])
    expect(rejectedAt(OpenAi.ChatCompletionRequest, { model, messages, max_completion_tokens: 1.5 })).toEqual([
      "max_completion_tokens"
    ])
  })

  it("rejects a stream flag that is not a boolean", () => {
    expect(rejectedAt(OpenAi.ChatCompletionRequest, { model, messages: [], stream: "yes" })).toEqual(["stream"])
  })

  it("rejects a text part without text", () => {
    const input = { model, messages: [{ role: "user", content: [{ type: "text" }] }] }
    expect(rejectedAt(OpenAi.ChatCompletionRequest, input)).toEqual([
      "messages.0.content",
      "messages.0.content.0.text",
      "messages.0.content.0.type"
    ])
  })
})

describe("ChatCompletion", () => {
  const head = { id: "chatcmpl-2b7d4e0c8f5a", object: "chat.completion", created: 1732200000, model }

  it("decodes a vLLM response with stop_reason, prompt_logprobs and kv_transfer_params", () => {
    const completion = decode(OpenAi.ChatCompletion, {
      ...head,
      choices: [
        {
          index: 0,
          message: { role: "assistant", reasoning_content: null, content: "Hallo!", tool_calls: [] },
          logprobs: null,
          finish_reason: "stop",
          stop_reason: null
        }
      ],
      usage: vllmUsage,
      prompt_logprobs: null,
      kv_transfer_params: null
    })
    expect(completion.choices[0]?.message.content).toBe("Hallo!")
    expect(completion.choices[0]?.stop_reason).toBeNull()
    expect(completion.usage).toEqual(vllmUsage)
  })

  it("decodes a stop_reason that is a stop token id", () => {
    const completion = decode(OpenAi.ChatCompletion, {
      ...head,
      choices: [{ index: 0, message: { role: "assistant", content: "x" }, finish_reason: "stop", stop_reason: 128009 }]
    })
    expect(completion.choices[0]?.stop_reason).toBe(128009)
  })

  it("rejects usage with a token count that is not a number", () => {
    const input = { ...head, choices: [], usage: { ...vllmUsage, completion_tokens: "12" } }
    expect(rejectedAt(OpenAi.ChatCompletion, input)).toEqual(["usage.completion_tokens", "usage"])
  })
})

describe("ChatCompletionChunk", () => {
  const chunk = { id: "chatcmpl-9", object: "chat.completion.chunk", created: 1732200000, model }

  it("decodes a vLLM content chunk", () => {
    const decoded = decode(OpenAi.ChatCompletionChunk, {
      ...chunk,
      choices: [{ index: 0, delta: { content: " Welt" }, logprobs: null, finish_reason: null }]
    })
    expect(decoded.choices[0]?.delta.content).toBe(" Welt")
    expect(decoded.choices[0]?.finish_reason).toBeNull()
  })

  it("decodes a streamed tool call fragment", () => {
    const decoded = decode(OpenAi.ChatCompletionChunk, {
      ...chunk,
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "now", arguments: "" } }] },
          finish_reason: null
        }
      ]
    })
    expect(decoded.choices[0]?.delta.tool_calls?.[0]?.function?.name).toBe("now")
  })

  it("decodes the usage-only chunk and the last content chunk with vLLM's stop_reason", () => {
    const last = decode(OpenAi.ChatCompletionChunk, {
      ...chunk,
      choices: [{ index: 0, delta: { content: "" }, logprobs: null, finish_reason: "length", stop_reason: null }]
    })
    const usage = decode(OpenAi.ChatCompletionChunk, { ...chunk, choices: [], usage: vllmUsage })
    expect(last.choices[0]?.finish_reason).toBe("length")
    expect(usage.usage?.total_tokens).toBe(37)
  })

  it("rejects a chunk with another object type", () => {
    expect(rejectedAt(OpenAi.ChatCompletionChunk, { ...chunk, object: "chat.completion", choices: [] })).toEqual([
      "object"
    ])
  })
})

describe("Completions", () => {
  it.each([["Say hi"], [["a", "b"]], [[1, 2, 3]], [[[1, 2], [3]]]])("decodes a request with prompt %j", (prompt) => {
    expect(decode(OpenAi.CompletionRequest, { model, prompt, max_tokens: 16, logprobs: 2 }).prompt).toEqual(prompt)
  })

  it("rejects a prompt of another type", () => {
    expect(rejectedAt(OpenAi.CompletionRequest, { model, prompt: 5 })).toEqual(["prompt"])
    expect(rejectedAt(OpenAi.CompletionRequest, { model, prompt: [1, "a"] })).toEqual(["prompt", "prompt.0", "prompt.1"])
  })

  it("decodes a vLLM completion with prompt_logprobs in its choice", () => {
    const completion = decode(OpenAi.Completion, {
      id: "cmpl-3c1f",
      object: "text_completion",
      created: 1732200000,
      model,
      choices: [
        { index: 0, text: " world", logprobs: null, finish_reason: "length", stop_reason: null, prompt_logprobs: null }
      ],
      usage: vllmUsage,
      kv_transfer_params: null
    })
    expect(completion.choices[0]?.text).toBe(" world")
    expect(completion.usage?.prompt_tokens).toBe(25)
  })

  it("decodes vLLM completion chunks, including the usage-only one", () => {
    const base = { id: "cmpl-3c1f", object: "text_completion", created: 1732200000, model }
    const text = decode(OpenAi.CompletionChunk, {
      ...base,
      choices: [{ index: 0, text: " wor", logprobs: null, finish_reason: null, stop_reason: null }]
    })
    const usage = decode(OpenAi.CompletionChunk, { ...base, choices: [], usage: vllmUsage })
    expect(text.choices[0]?.text).toBe(" wor")
    expect(usage.usage?.completion_tokens).toBe(12)
  })
})

describe("Embeddings", () => {
  it.each([["hello"], [["a", "b"]], [[101, 102]], [[[101], [102, 103]]]])("decodes a request with input %j", (input) => {
    expect(decode(OpenAi.EmbeddingRequest, { model: "BAAI/bge-m3", input }).input).toEqual(input)
  })

  it("decodes encoding_format and dimensions", () => {
    const request = decode(OpenAi.EmbeddingRequest, {
      model: "BAAI/bge-m3",
      input: "x",
      encoding_format: "base64",
      dimensions: 256
    })
    expect(request.encoding_format).toBe("base64")
    expect(request.dimensions).toBe(256)
  })

  it("rejects an unknown encoding_format", () => {
    expect(rejectedAt(OpenAi.EmbeddingRequest, { model: "m", input: "x", encoding_format: "int8" })).toEqual([
      "encoding_format"
    ])
  })

  it("rejects a request without a model", () => {
    expect(rejectedAt(OpenAi.EmbeddingRequest, { input: "x" })).toEqual(["model"])
  })

  it("decodes a vLLM embedding response (with id, created and completion_tokens 0)", () => {
    const response = decode(OpenAi.EmbeddingResponse, {
      id: "embd-5e2a",
      object: "list",
      created: 1732200000,
      model: "BAAI/bge-m3",
      data: [
        { index: 0, object: "embedding", embedding: [0.0123, -0.5, 1] },
        { index: 1, object: "embedding", embedding: "AAAAPw==" }
      ],
      usage: { prompt_tokens: 6, total_tokens: 6, completion_tokens: 0, prompt_tokens_details: null }
    })
    expect(response.data.map((item) => item.embedding)).toEqual([[0.0123, -0.5, 1], "AAAAPw=="])
    expect(response.usage.prompt_tokens).toBe(6)
  })

  it("decodes an OpenAI embedding response (usage without completion_tokens)", () => {
    const response = decode(OpenAi.EmbeddingResponse, {
      object: "list",
      model: "text-embedding-3-small",
      data: [{ index: 0, object: "embedding", embedding: [0.1] }],
      usage: { prompt_tokens: 2, total_tokens: 2 }
    })
    expect(response.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 })
  })
})

describe("ModelList", () => {
  it("decodes vLLM's /v1/models", () => {
    const list = decode(OpenAi.ModelList, {
      object: "list",
      data: [
        {
          id: model,
          object: "model",
          created: 1732200000,
          owned_by: "vllm",
          root: model,
          parent: null,
          max_model_len: 131072,
          permission: [{ id: "modelperm-1", object: "model_permission", allow_sampling: true }]
        }
      ]
    })
    expect(list.data.map((entry) => [entry.id, entry.owned_by, entry.max_model_len])).toEqual([
      [model, "vllm", 131072]
    ])
  })

  it("rejects an entry without owned_by", () => {
    const input = { object: "list", data: [{ id: "m", object: "model", created: 1 }] }
    expect(rejectedAt(OpenAi.ModelList, input)).toEqual(["data.0.owned_by"])
  })
})

describe("ErrorBody", () => {
  it("builds OpenAI's error shape with param null by default", () => {
    expect(OpenAi.errorBody("No endpoint available", "api_error", "no_endpoint_available")).toEqual({
      error: { message: "No endpoint available", type: "api_error", param: null, code: "no_endpoint_available" }
    })
  })

  it("builds an error naming its param", () => {
    expect(OpenAi.errorBody("model is required", "invalid_request_error", null, "model")).toEqual({
      error: { message: "model is required", type: "invalid_request_error", param: "model", code: null }
    })
  })

  it("decodes what errorBody builds", () => {
    const body = OpenAi.errorBody("Too many requests", "rate_limit_error", "rate_limit_exceeded")
    expect(decode(OpenAi.ErrorBody, JSON.parse(JSON.stringify(body)))).toEqual(body)
  })

  it("rejects an error without param", () => {
    const input = { error: { message: "m", type: "t", code: null } }
    expect(rejectedAt(OpenAi.ErrorBody, input)).toEqual(["error.param"])
  })
})

describe("isUsageOnlyChunk", () => {
  it("is true for empty choices and a usage object", () => {
    expect(OpenAi.isUsageOnlyChunk({ id: "c", choices: [], usage: vllmUsage })).toBe(true)
  })

  it.each([
    ["a content chunk", { choices: [{ index: 0, delta: { content: "x" } }], usage: vllmUsage }],
    ["a chunk with usage null", { choices: [], usage: null }],
    ["a chunk without usage", { choices: [] }],
    ["a usage that is an array", { choices: [], usage: [] }],
    ["choices that are not an array", { choices: {}, usage: vllmUsage }],
    ["null", null],
    ["a string", "[DONE]"],
    ["an array", []]
  ])("is false for %s", (_, chunk) => {
    expect(OpenAi.isUsageOnlyChunk(chunk)).toBe(false)
  })
})

describe("estimateTokens", () => {
  it.each([
    ["", 0],
    ["a", 1],
    ["abcd", 1],
    ["abcde", 2],
    ["Hello, world!", 4],
    ["😀", 1],
    ["😀😀😀", 2]
  ])("estimates %j as %i tokens", (text, tokens) => {
    expect(OpenAi.estimateTokens(text)).toBe(tokens)
  })
})

describe("promptText", () => {
  it("joins the string contents of chat messages with newlines", () => {
    const body = {
      model,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" }
      ]
    }
    expect(OpenAi.promptText(body)).toBe("Be brief.\nHi")
  })

  it("takes the text parts of array contents and skips other parts, null and empty contents", () => {
    const body = {
      model,
      messages: [
        { role: "user", content: [{ type: "text", text: "Look:" }, { type: "image_url", image_url: { url: "x" } }] },
        { role: "assistant", content: null, tool_calls: [] },
        { role: "user", content: "" },
        { role: "user", content: [{ type: "text", text: "and this" }, { type: "text", text: 5 }] }
      ]
    }
    expect(OpenAi.promptText(body)).toBe("Look:\nand this")
  })

  it.each([
    ["a string prompt", { model, prompt: "Once upon" }, "Once upon"],
    ["a list of prompts", { model, prompt: ["a", "b"] }, "a\nb"],
    ["token ids", { model, prompt: [1, 2, 3] }, ""],
    ["lists of token ids", { model, prompt: [[1], [2]] }, ""],
    ["an embedding input", { model, input: "embed me" }, "embed me"],
    ["embedding inputs", { model, input: ["x", "y", "z"] }, "x\ny\nz"],
    ["a body without prompt", { model }, ""],
    ["a body that is not an object", "text", ""],
    ["null", null, ""]
  ])("reads %s", (_, body, text) => {
    expect(OpenAi.promptText(body)).toBe(text)
  })
})

describe("estimatePromptTokens", () => {
  it("estimates the prompt text", () => {
    expect(OpenAi.estimatePromptTokens({ model, messages: [{ role: "user", content: "abcdefgh" }] })).toBe(2)
  })

  it("counts token ids exactly", () => {
    expect(OpenAi.estimatePromptTokens({ model, prompt: [1, 2, 3] })).toBe(3)
    expect(OpenAi.estimatePromptTokens({ model, input: [[1, 2], [3, 4, 5]] })).toBe(5)
  })

  it("is 0 for a body that is not an object", () => {
    expect(OpenAi.estimatePromptTokens(undefined)).toBe(0)
  })
})

describe("usageCounts and totalTokens", () => {
  it("reads the usage block of a response or a chunk", () => {
    expect(OpenAi.usageCounts({ usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } }))
      .toEqual({ promptTokens: 3, completionTokens: 5 })
    expect(OpenAi.usageCounts({ usage: { prompt_tokens: 4, total_tokens: 4 } })).toEqual({ promptTokens: 4, completionTokens: 0 })
  })

  it("is undefined without a usable usage block", () => {
    for (const json of [undefined, null, [], {}, { usage: null }, { usage: { completion_tokens: 2 } }, { usage: { prompt_tokens: "3" } }]) {
      expect(OpenAi.usageCounts(json)).toBeUndefined()
    }
  })

  it("totals prompt and completion tokens, 0 for none", () => {
    expect(OpenAi.totalTokens({ promptTokens: 3, completionTokens: 5 })).toBe(8)
    expect(OpenAi.totalTokens(undefined)).toBe(0)
  })
})

