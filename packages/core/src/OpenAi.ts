/**
 * The OpenAI wire types the balancer, the simulated upstream and the load producer speak, as vLLM's
 * OpenAI-compatible server serves them (vLLM's extra fields such as `stop_reason` and
 * `prompt_logprobs` included), plus the pure helpers the proxy uses on its hot path.
 *
 * Decoding ignores unknown keys (Schema's default `onExcessProperty: "ignore"`): a payload with
 * fields not listed here decodes, without them. Optional fields accept `null` where vLLM does
 * (`Optional[...]` in its pydantic models), so a client sending `"max_tokens": null` is valid.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const optionalNullable = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

const PositiveInt = Schema.Int.pipe(Schema.positive())
/** A JSON object whose keys this module does not model. */
const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
/** vLLM's `stop_reason`: the stop string or token id that ended the choice, `null` for EOS or length. */
const StopReason = optionalNullable(Schema.Union(Schema.String, Schema.Int))
/** `prompt` of a completion, `input` of an embedding: text, texts, token ids, or lists of token ids. */
const TextOrTokens = Schema.Union(
  Schema.String,
  Schema.Array(Schema.String),
  Schema.Array(Schema.Int),
  Schema.Array(Schema.Array(Schema.Int))
)

// ---------------------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------------------

/** Token counts of a chat or text completion (`usage`). */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.NonNegativeInt,
  completion_tokens: Schema.NonNegativeInt,
  total_tokens: Schema.NonNegativeInt,
  prompt_tokens_details: optionalNullable(JsonObject),
  completion_tokens_details: optionalNullable(JsonObject)
})
export type Usage = typeof Usage.Type

/** Token counts of an embedding: OpenAI sends no `completion_tokens`, vLLM sends `0`. */
export const EmbeddingUsage = Schema.Struct({
  prompt_tokens: Schema.NonNegativeInt,
  total_tokens: Schema.NonNegativeInt,
  completion_tokens: optionalNullable(Schema.NonNegativeInt),
  prompt_tokens_details: optionalNullable(JsonObject)
})
export type EmbeddingUsage = typeof EmbeddingUsage.Type

// ---------------------------------------------------------------------------------------------------
// Chat
// ---------------------------------------------------------------------------------------------------

/** `{"type": "text", "text": ...}`, the part the balancer reads to estimate prompt tokens. */
export const TextContentPart = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String
})
export type TextContentPart = typeof TextContentPart.Type

/** `{"type": "image_url", "image_url": {"url": ..., "detail"?: ...}}`. */
export const ImageUrlContentPart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({ url: Schema.String, detail: Schema.optional(Schema.String) })
})
export type ImageUrlContentPart = typeof ImageUrlContentPart.Type

/** Any other part (`input_audio`, `video_url`, `file`, `refusal`, ...): only its `type` is modelled. */
export const OtherContentPart = Schema.Struct({
  type: Schema.String.pipe(Schema.filter((type) => type !== "text" && type !== "image_url"))
})
export type OtherContentPart = typeof OtherContentPart.Type

export const ContentPart = Schema.Union(TextContentPart, ImageUrlContentPart, OtherContentPart)
export type ContentPart = typeof ContentPart.Type

/** A call the assistant made (in a message, or in a request's history). */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})
export type ToolCall = typeof ToolCall.Type

/**
 * A chat message, in a request's `messages` or a response's `choices[].message`. `role` is any
 * string: besides `system`, `developer`, `user`, `assistant` and `tool`, vLLM accepts custom roles
 * that the model's chat template knows. `content` is `null` on an assistant message that only calls tools.
 */
export const ChatMessage = Schema.Struct({
  role: Schema.String,
  content: optionalNullable(Schema.Union(Schema.String, Schema.Array(ContentPart))),
  name: Schema.optional(Schema.String),
  tool_calls: optionalNullable(Schema.Array(ToolCall)),
  tool_call_id: Schema.optional(Schema.String),
  refusal: optionalNullable(Schema.String),
  /** vLLM: the reasoning of a reasoning model, when a reasoning parser is on. */
  reasoning_content: optionalNullable(Schema.String)
})
export type ChatMessage = typeof ChatMessage.Type

export const Tool = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(JsonObject),
    strict: optionalNullable(Schema.Boolean)
  })
})
export type Tool = typeof Tool.Type

export const ToolChoice = Schema.Union(
  Schema.Literal("none", "auto", "required"),
  Schema.Struct({ type: Schema.Literal("function"), function: Schema.Struct({ name: Schema.String }) })
)
export type ToolChoice = typeof ToolChoice.Type

export const StreamOptions = Schema.Struct({
  include_usage: optionalNullable(Schema.Boolean),
  /** vLLM: a `usage` block in every chunk, not only in the last one. */
  continuous_usage_stats: optionalNullable(Schema.Boolean)
})
export type StreamOptions = typeof StreamOptions.Type

/** The fields chat and text completion requests share (OpenAI's sampling parameters and vLLM's extras). */
const generationFields = {
  model: Schema.NonEmptyString,
  stream: optionalNullable(Schema.Boolean),
  stream_options: optionalNullable(StreamOptions),
  max_tokens: optionalNullable(Schema.NonNegativeInt),
  temperature: optionalNullable(Schema.Number),
  top_p: optionalNullable(Schema.Number),
  n: optionalNullable(PositiveInt),
  seed: optionalNullable(Schema.Int),
  stop: optionalNullable(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  frequency_penalty: optionalNullable(Schema.Number),
  presence_penalty: optionalNullable(Schema.Number),
  logit_bias: optionalNullable(Schema.Record({ key: Schema.String, value: Schema.Number })),
  user: optionalNullable(Schema.String),
  /** vLLM sampling extras, used by benchmarks to fix the output length. */
  top_k: optionalNullable(Schema.Int),
  min_p: optionalNullable(Schema.Number),
  repetition_penalty: optionalNullable(Schema.Number),
  min_tokens: optionalNullable(Schema.NonNegativeInt),
  ignore_eos: optionalNullable(Schema.Boolean)
}

/** `POST /v1/chat/completions`. */
export const ChatCompletionRequest = Schema.Struct({
  ...generationFields,
  messages: Schema.Array(ChatMessage),
  max_completion_tokens: optionalNullable(Schema.NonNegativeInt),
  logprobs: optionalNullable(Schema.Boolean),
  top_logprobs: optionalNullable(Schema.NonNegativeInt),
  tools: optionalNullable(Schema.Array(Tool)),
  tool_choice: optionalNullable(ToolChoice),
  parallel_tool_calls: optionalNullable(Schema.Boolean),
  response_format: optionalNullable(Schema.Struct({ type: Schema.String })),
  reasoning_effort: optionalNullable(Schema.String)
})
export type ChatCompletionRequest = typeof ChatCompletionRequest.Type

/** The fields of every completion response and chunk besides `object` and `choices`. */
const responseFields = {
  id: Schema.String,
  created: Schema.Int,
  model: Schema.String,
  /**
   * Always in a vLLM response; in a chunk only with `stream_options.include_usage` (the last, usage-only
   * chunk) or vLLM's `continuous_usage_stats` (every chunk).
   */
  usage: optionalNullable(Usage),
  system_fingerprint: optionalNullable(Schema.String),
  service_tier: optionalNullable(Schema.String)
}

/** The fields of a choice vLLM and OpenAI send in responses and chunks alike. */
const choiceFields = {
  index: Schema.NonNegativeInt,
  logprobs: optionalNullable(Schema.Unknown),
  stop_reason: StopReason
}

export const ChatCompletionChoice = Schema.Struct({
  ...choiceFields,
  message: ChatMessage,
  finish_reason: Schema.NullOr(Schema.String)
})
export type ChatCompletionChoice = typeof ChatCompletionChoice.Type

/** A non-streaming chat completion. */
export const ChatCompletion = Schema.Struct({
  ...responseFields,
  object: Schema.Literal("chat.completion"),
  choices: Schema.Array(ChatCompletionChoice),
  /** vLLM: the prompt's log probabilities when the request asked for them. */
  prompt_logprobs: optionalNullable(Schema.Unknown)
})
export type ChatCompletion = typeof ChatCompletion.Type

/** A fragment of a tool call in a streamed delta. */
export const ToolCallDelta = Schema.Struct({
  index: Schema.NonNegativeInt,
  id: optionalNullable(Schema.String),
  type: optionalNullable(Schema.Literal("function")),
  function: optionalNullable(
    Schema.Struct({ name: optionalNullable(Schema.String), arguments: optionalNullable(Schema.String) })
  )
})
export type ToolCallDelta = typeof ToolCallDelta.Type

export const ChatCompletionDelta = Schema.Struct({
  role: optionalNullable(Schema.String),
  content: optionalNullable(Schema.String),
  reasoning_content: optionalNullable(Schema.String),
  refusal: optionalNullable(Schema.String),
  tool_calls: optionalNullable(Schema.Array(ToolCallDelta))
})
export type ChatCompletionDelta = typeof ChatCompletionDelta.Type

export const ChatCompletionChunkChoice = Schema.Struct({
  ...choiceFields,
  delta: ChatCompletionDelta,
  finish_reason: optionalNullable(Schema.String)
})
export type ChatCompletionChunkChoice = typeof ChatCompletionChunkChoice.Type

/**
 * One `data:` event of a streamed chat completion. With `stream_options.include_usage` the last chunk
 * before `[DONE]` has `choices: []` and the `usage` (see {@link isUsageOnlyChunk}).
 */
export const ChatCompletionChunk = Schema.Struct({
  ...responseFields,
  object: Schema.Literal("chat.completion.chunk"),
  choices: Schema.Array(ChatCompletionChunkChoice)
})
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type

// ---------------------------------------------------------------------------------------------------
// Text completions
// ---------------------------------------------------------------------------------------------------

/** `POST /v1/completions`. */
export const CompletionRequest = Schema.Struct({
  ...generationFields,
  prompt: TextOrTokens,
  /** Completions take the number of log probabilities, not a boolean. */
  logprobs: optionalNullable(Schema.NonNegativeInt),
  echo: optionalNullable(Schema.Boolean),
  suffix: optionalNullable(Schema.String),
  best_of: optionalNullable(PositiveInt)
})
export type CompletionRequest = typeof CompletionRequest.Type

/** A choice of a text completion or of one of its chunks (a chunk's `finish_reason` is `null` until the last). */
export const CompletionChoice = Schema.Struct({
  ...choiceFields,
  text: Schema.String,
  finish_reason: optionalNullable(Schema.String),
  /** vLLM: the prompt's log probabilities when the request asked for them. */
  prompt_logprobs: optionalNullable(Schema.Unknown)
})
export type CompletionChoice = typeof CompletionChoice.Type

const completionFields = {
  ...responseFields,
  object: Schema.Literal("text_completion"),
  choices: Schema.Array(CompletionChoice)
}

/** A non-streaming text completion. */
export const Completion = Schema.Struct(completionFields)
export type Completion = typeof Completion.Type

/** One `data:` event of a streamed text completion (same `object` as the response, as OpenAI sends it). */
export const CompletionChunk = Schema.Struct(completionFields)
export type CompletionChunk = typeof CompletionChunk.Type

// ---------------------------------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------------------------------

/** `POST /v1/embeddings`. */
export const EmbeddingRequest = Schema.Struct({
  model: Schema.NonEmptyString,
  input: TextOrTokens,
  encoding_format: Schema.optional(Schema.Literal("float", "base64")),
  dimensions: optionalNullable(PositiveInt),
  user: optionalNullable(Schema.String)
})
export type EmbeddingRequest = typeof EmbeddingRequest.Type

/** One vector: numbers, or a base64 string of little-endian float32 with `encoding_format: "base64"`. */
export const Embedding = Schema.Struct({
  object: Schema.Literal("embedding"),
  index: Schema.NonNegativeInt,
  embedding: Schema.Union(Schema.Array(Schema.Number), Schema.String)
})
export type Embedding = typeof Embedding.Type

/** The answer to `POST /v1/embeddings` (vLLM adds `id` and `created`). */
export const EmbeddingResponse = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Embedding),
  model: Schema.String,
  usage: EmbeddingUsage,
  id: Schema.optional(Schema.String),
  created: Schema.optional(Schema.Int)
})
export type EmbeddingResponse = typeof EmbeddingResponse.Type

// ---------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------

/** An entry of `GET /v1/models` (vLLM adds `root`, `parent`, `max_model_len`, `permission`). */
export const Model = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("model"),
  created: Schema.Int,
  owned_by: Schema.String,
  root: optionalNullable(Schema.String),
  parent: optionalNullable(Schema.String),
  max_model_len: optionalNullable(Schema.NonNegativeInt),
  permission: optionalNullable(Schema.Array(Schema.Unknown))
})
export type Model = typeof Model.Type

/** The answer to `GET /v1/models`. */
export const ModelList = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Model)
})
export type ModelList = typeof ModelList.Type

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

/** OpenAI's error shape, which every `/v1/*` error of the balancer uses. */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    message: Schema.String,
    type: Schema.String,
    param: Schema.NullOr(Schema.String),
    code: Schema.NullOr(Schema.String)
  })
})
export type ErrorBody = typeof ErrorBody.Type

/** `{"error": {"message", "type", "param", "code"}}` as a plain object; `param` defaults to `null`. */
export const errorBody = (
  message: string,
  type: string,
  code: string | null,
  param: string | null = null
): ErrorBody => ({ error: { message, type, param, code } })

// ---------------------------------------------------------------------------------------------------
// Hot-path helpers (on parsed JSON, no Schema decode)
// ---------------------------------------------------------------------------------------------------

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The chunk `stream_options.include_usage` adds at the end of a stream: `choices` is an empty array
 * and `usage` an object. The balancer drops it when the client did not ask for usage.
 */
export const isUsageOnlyChunk = (chunk: unknown): boolean => {
  if (!isObject(chunk)) return false
  const choices = chunk["choices"]
  return Array.isArray(choices) && choices.length === 0 && isObject(chunk["usage"])
}

/** Tokens a request used, as the balancer counts them. */
export interface UsageCounts {
  readonly promptTokens: number
  readonly completionTokens: number
}

/**
 * The counts of a response's (or stream chunk's) `usage` block, undefined when it has none.
 * Embeddings report no completion tokens: 0.
 */
export const usageCounts = (json: unknown): UsageCounts | undefined => {
  const usage = isObject(json) ? json["usage"] : undefined
  if (!isObject(usage) || typeof usage["prompt_tokens"] !== "number") return undefined
  const completion = usage["completion_tokens"]
  return { promptTokens: usage["prompt_tokens"], completionTokens: typeof completion === "number" ? completion : 0 }
}

/** Prompt plus completion tokens; 0 for no usage. */
export const totalTokens = (usage: UsageCounts | undefined): number =>
  usage === undefined ? 0 : usage.promptTokens + usage.completionTokens

/**
 * Tokens of a text, estimated as characters / 4 rounded up (0 for the empty string). Characters are
 * UTF-16 code units (`text.length`): cheap, and close enough for a reservation the real `usage` corrects.
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4)

/** Appends `piece` to `text` with a `"\n"` between non-empty pieces. */
const join = (text: string, piece: string): string =>
  piece.length === 0 ? text : text.length === 0 ? piece : text + "\n" + piece

/** The text of a message's `content`: the string, or its `text` parts joined with `"\n"`. */
const contentText = (content: unknown): string => {
  if (typeof content === "string") return content
  let text = ""
  if (Array.isArray(content)) {
    for (const part of content) {
      if (isObject(part) && part["type"] === "text" && typeof part["text"] === "string") {
        text = join(text, part["text"])
      }
    }
  }
  return text
}

/** The strings of a completion `prompt` or an embedding `input`, joined with `"\n"`; token ids have no text. */
const textsOf = (input: unknown): string => {
  if (typeof input === "string") return input
  let text = ""
  if (Array.isArray(input)) {
    for (const item of input) if (typeof item === "string") text = join(text, item)
  }
  return text
}

/**
 * The prompt text of a parsed request body, for estimating its tokens: the text content of a chat
 * request's `messages` (string content, or the `text` of `{"type": "text"}` parts), a completion's
 * `prompt` or an embedding's `input` (strings only), the non-empty pieces joined with `"\n"`.
 * Anything else (another shape, token ids, images) gives no text; see {@link estimatePromptTokens}.
 */
export const promptText = (body: unknown): string => {
  if (!isObject(body)) return ""
  const messages = body["messages"]
  if (Array.isArray(messages)) {
    let text = ""
    for (const message of messages) {
      if (isObject(message)) text = join(text, contentText(message["content"]))
    }
    return text
  }
  return textsOf(body["prompt"] ?? body["input"])
}

/** How many token ids a `prompt` or `input` holds (`number[]` or `number[][]`); 0 for text. */
const tokenIdCount = (input: unknown): number => {
  if (!Array.isArray(input)) return 0
  let count = 0
  for (const item of input) {
    if (typeof item === "number") count++
    else if (Array.isArray(item)) count += item.length
  }
  return count
}

/**
 * The prompt tokens the balancer reserves for a parsed request body: {@link estimateTokens} of its
 * {@link promptText}, plus the exact count of the token ids a completion `prompt` or an embedding
 * `input` may carry instead of text.
 */
export const estimatePromptTokens = (body: unknown): number => {
  if (!isObject(body)) return 0
  return estimateTokens(promptText(body)) + tokenIdCount(body["prompt"] ?? body["input"])
}
