/**
 * vLLM's OpenAI-compatible wire format as the simulator speaks it: request validation (with vLLM's error
 * shapes), deterministic token accounting, response bodies, SSE chunks and embedding vectors.
 * Pure functions; the server in Sim.ts does the I/O.
 */
import { STATUS_CODES } from "node:http"

export type Route = "chat" | "completions" | "embeddings"

/** A validated generation request. One shape for every route (the server's job objects stay monomorphic). */
export interface GenRequest {
  readonly route: Route
  readonly model: string
  readonly stream: boolean
  readonly includeUsage: boolean
  /** vLLM's `stream_options.continuous_usage_stats`: a usage block on every chunk (with `include_usage`). */
  readonly continuousUsage: boolean
  /** Whitespace-separated words of the prompt text (token ids count one each), at least 1. */
  readonly promptTokens: number
  /** max_completion_tokens ?? max_tokens, null when absent. */
  readonly maxTokens: number | null
  /** Choices to generate: completions with a list of prompts make one each; embeddings make one vector per input. */
  readonly choices: number
  /** Embeddings only: each input as text (token-id inputs joined by spaces), the seeds of the vectors. */
  readonly inputs: ReadonlyArray<string>
  readonly base64: boolean
}

/** An error answer: status and the JSON body text. */
export interface ApiError {
  readonly status: number
  readonly body: string
}

export const isApiError = (u: GenRequest | ApiError): u is ApiError => "status" in u

/** vLLM's error type for a status: 400 BadRequestError, 404 NotFoundError, 503 ServiceUnavailableError, ... */
export const errorType = (status: number): string =>
  (STATUS_CODES[status] ?? `Http${status}`).replace(/[^A-Za-z0-9]/g, "") + "Error"

/** `{"error":{"message","type","param":null,"code"}}` as vLLM's OpenAI server writes it. */
export const errorBody = (status: number, message: string): string =>
  JSON.stringify({ error: { message, type: errorType(status), param: null, code: status } })

export const apiError = (status: number, message: string): ApiError => ({ status, body: errorBody(status, message) })

const badRequest = (message: string): ApiError => apiError(400, message)

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Counts whitespace-separated words without allocating. */
export const countWords = (text: string): number => {
  let words = 0
  let inWord = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const space = c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x2028 || c === 0x2029 || c === 0xfeff ||
      (c >= 0x2000 && c <= 0x200a) || c === 0x1680 || c === 0x202f || c === 0x205f || c === 0x3000
    if (space) inWord = false
    else if (!inWord) {
      inWord = true
      words++
    }
  }
  return words
}

const isTokenIds = (u: unknown): u is ReadonlyArray<number> =>
  Array.isArray(u) && u.length > 0 && u.every((x) => typeof x === "number" && Number.isInteger(x))

/**
 * A prompt or embedding input: string | string[] | number[] | number[][]. Returns the texts (token-id lists
 * joined by spaces, so each id counts as one word) or an error naming the field.
 */
const textInputs = (field: string, u: unknown): ReadonlyArray<string> | ApiError => {
  if (typeof u === "string") return [u]
  if (isTokenIds(u)) return [u.join(" ")]
  if (Array.isArray(u) && u.length > 0) {
    if (u.every((x) => typeof x === "string")) return u as ReadonlyArray<string>
    if (u.every(isTokenIds)) return u.map((ids) => ids.join(" "))
  }
  return u === undefined ?
    badRequest(`${field}: Field required`) :
    badRequest(`${field}: Input should be a non-empty string, list of strings, list of token ids or list of lists of token ids`)
}

const optionalBoolean = (body: Record<string, unknown>, field: string): boolean | ApiError => {
  const v = body[field]
  if (v === undefined || v === null) return false
  return typeof v === "boolean" ? v : badRequest(`${field}: Input should be a valid boolean`)
}

const optionalCount = (body: Record<string, unknown>, field: string): number | null | ApiError => {
  const v = body[field]
  if (v === undefined || v === null) return null
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ?
    v :
    badRequest(`${field}: Input should be a non-negative integer`)
}

/** Words of the chat messages' contents (strings or `[{type:"text",text}]` parts), concatenated with spaces. */
const chatPromptWords = (messages: ReadonlyArray<unknown>): number | ApiError => {
  let words = 0
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]
    if (!isRecord(m)) return badRequest(`messages[${i}]: Input should be a valid dictionary`)
    if (typeof m["role"] !== "string") return badRequest(`messages[${i}].role: Field required (a string)`)
    const content = m["content"]
    if (typeof content === "string") words += countWords(content)
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (!isRecord(part) || typeof part["type"] !== "string") {
          return badRequest(`messages[${i}].content: each part should be an object with a type`)
        }
        if (part["type"] === "text") {
          if (typeof part["text"] !== "string") return badRequest(`messages[${i}].content: a text part needs a string text`)
          words += countWords(part["text"])
        }
      }
    } else if (content !== undefined && content !== null) {
      return badRequest(`messages[${i}].content: Input should be a string or a list of content parts`)
    }
  }
  return words
}

/**
 * Parses and validates a generation request body (already JSON-parsed) for `route`, checking the model against
 * `models`. Unknown fields are accepted, as vLLM does.
 */
export const parseGenRequest = (route: Route, body: unknown, models: ReadonlyArray<string>): GenRequest | ApiError => {
  if (!isRecord(body)) return badRequest("Request body should be a JSON object")
  const model = body["model"]
  if (typeof model !== "string") {
    return badRequest(model === undefined ? "model: Field required" : "model: Input should be a valid string")
  }
  const stream = optionalBoolean(body, "stream")
  if (typeof stream !== "boolean") return stream
  const streamOptions = body["stream_options"]
  let includeUsage = false
  let continuousUsage = false
  if (streamOptions !== undefined && streamOptions !== null) {
    if (!isRecord(streamOptions)) return badRequest("stream_options: Input should be a valid dictionary")
    const iu = optionalBoolean(streamOptions, "include_usage")
    if (typeof iu !== "boolean") return badRequest("stream_options.include_usage: Input should be a valid boolean")
    includeUsage = iu
    const cu = optionalBoolean(streamOptions, "continuous_usage_stats")
    if (typeof cu !== "boolean") {
      return badRequest("stream_options.continuous_usage_stats: Input should be a valid boolean")
    }
    continuousUsage = iu && cu
  }
  const maxTokens = optionalCount(body, "max_tokens")
  if (typeof maxTokens === "object" && maxTokens !== null) return maxTokens
  const maxCompletionTokens = optionalCount(body, "max_completion_tokens")
  if (typeof maxCompletionTokens === "object" && maxCompletionTokens !== null) return maxCompletionTokens
  const temperature = body["temperature"]
  if (temperature !== undefined && temperature !== null && typeof temperature !== "number") {
    return badRequest("temperature: Input should be a valid number")
  }
  let promptTokens: number
  let choices = 1
  let inputs: ReadonlyArray<string> = []
  let base64 = false
  if (route === "chat") {
    const messages = body["messages"]
    if (!Array.isArray(messages)) {
      return badRequest(messages === undefined ? "messages: Field required" : "messages: Input should be a valid list")
    }
    const words = chatPromptWords(messages)
    if (typeof words !== "number") return words
    promptTokens = words
  } else {
    const texts = textInputs(route === "completions" ? "prompt" : "input", body[route === "completions" ? "prompt" : "input"])
    if (!Array.isArray(texts)) return texts as ApiError
    promptTokens = 0
    for (const t of texts) promptTokens += countWords(t)
    choices = texts.length
    if (route === "embeddings") {
      inputs = texts
      const format = body["encoding_format"]
      if (format !== undefined && format !== null && format !== "float" && format !== "base64") {
        return badRequest(`encoding_format: Input should be 'float' or 'base64'`)
      }
      base64 = format === "base64"
    }
  }
  if (!models.includes(model)) return apiError(404, `The model \`${model}\` does not exist.`)
  return {
    route,
    model,
    stream: route !== "embeddings" && stream,
    includeUsage,
    continuousUsage,
    promptTokens: Math.max(1, promptTokens),
    maxTokens: maxCompletionTokens ?? maxTokens,
    choices,
    inputs,
    base64
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generated text

const tokenCache: Array<string> = [""]
const contentCache = new Map<number, string>()

/** The i-th generated token (1-based): " tok1", " tok2", ... */
export const tokenText = (i: number): string => {
  while (tokenCache.length <= i) tokenCache.push(` tok${tokenCache.length}`)
  return tokenCache[i]!
}

/** The first n tokens concatenated (cached for the few lengths a run uses). */
export const contentOf = (n: number): string => {
  let s = contentCache.get(n)
  if (s === undefined) {
    s = ""
    for (let i = 1; i <= n; i++) s += tokenText(i)
    if (contentCache.size < 1024) contentCache.set(n, s)
  }
  return s
}

/** completion tokens per choice and finish reason for a request. */
export const completionOf = (req: GenRequest, outputTokens: number): { tokens: number; finish: "stop" | "length" } =>
  req.maxTokens !== null && req.maxTokens < outputTokens ?
    { tokens: req.maxTokens, finish: "length" } :
    { tokens: outputTokens, finish: "stop" }

// ---------------------------------------------------------------------------------------------------------------
// Ids

const idPrefix = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, "0")
let idSeq = 0

/** `chatcmpl-<hex>` / `cmpl-<hex>` / `embd-<hex>`: a random per-process prefix plus a counter. */
export const responseId = (route: Route): string =>
  `${route === "chat" ? "chatcmpl" : route === "completions" ? "cmpl" : "embd"}-${idPrefix}${(idSeq++).toString(16).padStart(8, "0")}`

// ---------------------------------------------------------------------------------------------------------------
// Bodies

export interface Usage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
  readonly prompt_tokens_details: null
}

export const usageOf = (promptTokens: number, completionTokens: number): Usage => ({
  prompt_tokens: promptTokens,
  completion_tokens: completionTokens,
  total_tokens: promptTokens + completionTokens,
  prompt_tokens_details: null
})

/** The non-streaming body of a chat or completions request. */
export const completionBody = (
  req: GenRequest,
  id: string,
  created: number,
  tokens: number,
  finish: "stop" | "length"
): string => {
  const content = contentOf(tokens)
  const usage = usageOf(req.promptTokens, tokens * req.choices)
  if (req.route === "chat") {
    return JSON.stringify({
      id,
      object: "chat.completion",
      created,
      model: req.model,
      choices: [{
        index: 0,
        message: { role: "assistant", content, tool_calls: [] },
        logprobs: null,
        finish_reason: finish,
        stop_reason: null
      }],
      usage,
      prompt_logprobs: null
    })
  }
  const choices = []
  for (let index = 0; index < req.choices; index++) {
    choices.push({ index, text: content, logprobs: null, finish_reason: finish, stop_reason: null })
  }
  return JSON.stringify({ id, object: "text_completion", created, model: req.model, choices, usage })
}

/**
 * SSE chunk text for one stream; each method returns one complete `data: ...\n\n` event. Built from string
 * pieces (the prefix is serialised once per request), so a token costs one concatenation.
 */
export class ChunkWriter {
  private readonly prefix: string
  private readonly suffix: string
  constructor(private readonly req: GenRequest, id: string, created: number) {
    const object = req.route === "chat" ? "chat.completion.chunk" : "text_completion"
    this.prefix = `data: {"id":"${id}","object":"${object}","created":${created},"model":${
      JSON.stringify(req.model)
    },"choices":[`
    this.suffix = req.includeUsage ? `],"usage":null}\n\n` : `]}\n\n`
  }

  /** With continuous usage stats, the chunk's usage so far (vLLM: on every chunk), else the fixed suffix. */
  private end(completionTokens: number): string {
    return this.req.continuousUsage ?
      `],"usage":${JSON.stringify(usageOf(this.req.promptTokens, completionTokens))}}\n\n` :
      this.suffix
  }

  /** Chat only: the first chunk, `delta: {role: "assistant", content: ""}`. */
  role(): string {
    return `${this.prefix}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}${
      this.end(0)
    }`
  }

  /** One token of one choice; `finish` on the last one; `completionTokens`: generated so far, this one included. */
  token(index: number, text: string, finish: "stop" | "length" | null, completionTokens = 0): string {
    return this.req.route === "chat" ?
      `${this.prefix}{"index":${index},"delta":{"content":"${text}"},"logprobs":null,${
        finish === null ? `"finish_reason":null` : `"finish_reason":"${finish}","stop_reason":null`
      }}${this.end(completionTokens)}` :
      `${this.prefix}{"index":${index},"text":"${text}","logprobs":null,"finish_reason":${
        finish === null ? "null" : `"${finish}"`
      },"stop_reason":null}${this.end(completionTokens)}`
  }

  /** The usage-only chunk (`choices: []`) sent when `stream_options.include_usage` is true. */
  usage(completionTokens: number): string {
    return `${this.prefix}],"usage":${JSON.stringify(usageOf(this.req.promptTokens, completionTokens))}}\n\n`
  }
}

export const DONE = "data: [DONE]\n\n"

// ---------------------------------------------------------------------------------------------------------------
// Embeddings

/** FNV-1a over the text, the seed of its vector. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A deterministic unit vector of `dims` float32 values for `text` (mulberry32 seeded by its hash). */
export const embeddingOf = (text: string, dims: number): Float32Array => {
  const v = new Float32Array(dims)
  let state = hash(text)
  let norm = 0
  for (let i = 0; i < dims; i++) {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    const x = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1
    v[i] = x
    norm += x * x
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0
  for (let i = 0; i < dims; i++) v[i] = v[i]! * scale
  return v
}

/** Little-endian float32 bytes in base64, what the openai client decodes for `encoding_format: "base64"`. */
export const base64Of = (v: Float32Array): string => {
  const buf = Buffer.allocUnsafe(v.length * 4)
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4)
  return buf.toString("base64")
}

export const embeddingsBody = (req: GenRequest, id: string, created: number, dims: number): string => {
  const data = req.inputs.map((text, index) => {
    const v = embeddingOf(text, dims)
    return { object: "embedding", index, embedding: req.base64 ? base64Of(v) : Array.from(v) }
  })
  return JSON.stringify({
    id,
    object: "list",
    created,
    model: req.model,
    data,
    usage: { prompt_tokens: req.promptTokens, total_tokens: req.promptTokens, completion_tokens: 0, prompt_tokens_details: null }
  })
}
