/**
 * The simulator's options, their defaults and their validation. One validator serves `startSim`,
 * `set` and `POST /sim/config`, so a bad value fails the same way (with a message naming the field)
 * whether it comes from code, the CLI or a JSON patch.
 */

/** An injected failure; applies to the generation routes (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`). */
export type Fault =
  | { readonly kind: "none" }
  | {
    readonly kind: "status"
    readonly status: number
    /** 1 = every request (default), N = every Nth generation request. */
    readonly every?: number
    readonly retryAfterSeconds?: number
    /** Replaces the vLLM-style error body (a string is sent as text/plain, anything else as JSON). */
    readonly body?: unknown
  }
  /** Accept the request and never send headers. */
  | { readonly kind: "hang" }
  /** Send the response (headers included) only after `delayMs`. */
  | { readonly kind: "slow-headers"; readonly delayMs: number }
  /** Close the connection after N SSE chunks (non-streaming: after the headers, before the body). */
  | { readonly kind: "close-mid-stream"; readonly afterChunks: number }

export interface SimOptions {
  readonly models: ReadonlyArray<string>
  /** Delay before the first token (streaming) or the response (non-streaming adds interTokenMs per further token). */
  readonly ttftMs: number
  /** Delay between streamed tokens. */
  readonly interTokenMs: number
  /** Tokens generated when max_tokens is larger or absent. */
  readonly outputTokens: number
  /** 0 = unlimited; beyond it requests wait in a FIFO queue (vLLM's waiting queue). */
  readonly maxConcurrency: number
  /** When set, `/v1/*` needs `Authorization: Bearer <key>`, else 401 `{"error":"Unauthorized"}` like vLLM. */
  readonly apiKey: string | null
  readonly fault: Fault
  readonly embeddingDims: number
  /**
   * Chat streams: send the role-only opening chunk as soon as the request runs, before the TTFT delay
   * (default false: with the first token, as vLLM does). Shows a client that counts it as the first token.
   */
  readonly roleChunkEarly: boolean
  /**
   * The engine model (0 = off, the fixed delays above): prompt tokens prefilled per second, one prefill
   * at a time in arrival order, only the tokens not found in the prefix cache. The first token then
   * comes `ttftMs` after its prefill ends.
   */
  readonly prefillTokensPerSecond: number
  /**
   * The engine model's KV cache in 16-token blocks (vLLM's `num_gpu_blocks`): it bounds the prefix cache
   * (an LRU of prompt blocks) and the running requests' blocks (more wait in the queue).
   */
  readonly numGpuBlocks: number
  /** The engine model: each decode step takes interTokenMs plus this per running request (batch cost). */
  readonly decodeMsPerSeq: number
  /**
   * Send first tokens and later tokens at their due time to the tenth of a millisecond: a timer to 2 ms
   * before, then `setImmediate` turns (Node's timers fire up to a millisecond or more late), and token k
   * at first token + k gaps (not each gap after the previous send). Costs CPU while it waits; for tests
   * that measure a client's timing against the settings. Default false.
   */
  readonly preciseTimers: boolean
}

export const defaultOptions: SimOptions = {
  models: ["sim-model"],
  ttftMs: 0,
  interTokenMs: 0,
  outputTokens: 16,
  maxConcurrency: 0,
  apiKey: null,
  fault: { kind: "none" },
  embeddingDims: 8,
  roleChunkEarly: false,
  prefillTokensPerSecond: 0,
  numGpuBlocks: 8192,
  decodeMsPerSeq: 0,
  preciseTimers: false
}

export class SimOptionsError extends Error {
  override readonly name = "SimOptionsError"
}

const fail = (message: string): never => {
  throw new SimOptionsError(message)
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const nonNegative = (field: string, u: unknown): number =>
  typeof u === "number" && Number.isFinite(u) && u >= 0 ? u : fail(`${field} must be a non-negative number, got ${show(u)}`)

const integerAtLeast = (field: string, u: unknown, min: number): number =>
  typeof u === "number" && Number.isInteger(u) && u >= min ? u : fail(`${field} must be an integer >= ${min}, got ${show(u)}`)

const show = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

const onlyKeys = (where: string, record: Record<string, unknown>, allowed: ReadonlyArray<string>): void => {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) fail(`${where}: unknown field ${show(key)} (allowed: ${allowed.join(", ")})`)
  }
}

const faultKinds = ["none", "status", "hang", "slow-headers", "close-mid-stream"]

export const parseFault = (u: unknown): Fault => {
  if (!isRecord(u)) return fail(`fault must be an object like {"kind":"none"}, got ${show(u)}`)
  switch (u["kind"]) {
    case "none":
    case "hang":
      onlyKeys("fault", u, ["kind"])
      return { kind: u["kind"] }
    case "status": {
      onlyKeys("fault", u, ["kind", "status", "every", "retryAfterSeconds", "body"])
      const status = u["status"]
      if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 599) {
        return fail(`fault.status must be an HTTP error status (400..599), got ${show(status)}`)
      }
      return {
        kind: "status",
        status,
        ...(u["every"] === undefined ? {} : { every: integerAtLeast("fault.every", u["every"], 1) }),
        ...(u["retryAfterSeconds"] === undefined ?
          {} :
          { retryAfterSeconds: nonNegative("fault.retryAfterSeconds", u["retryAfterSeconds"]) }),
        ...(u["body"] === undefined ? {} : { body: u["body"] })
      }
    }
    case "slow-headers":
      onlyKeys("fault", u, ["kind", "delayMs"])
      return { kind: "slow-headers", delayMs: nonNegative("fault.delayMs", u["delayMs"]) }
    case "close-mid-stream":
      onlyKeys("fault", u, ["kind", "afterChunks"])
      return { kind: "close-mid-stream", afterChunks: integerAtLeast("fault.afterChunks", u["afterChunks"], 0) }
    default:
      return fail(`fault.kind must be one of ${faultKinds.join(", ")}, got ${show(u["kind"])}`)
  }
}

const optionKeys: ReadonlyArray<keyof SimOptions> = [
  "models",
  "ttftMs",
  "interTokenMs",
  "outputTokens",
  "maxConcurrency",
  "apiKey",
  "fault",
  "embeddingDims",
  "roleChunkEarly",
  "prefillTokensPerSecond",
  "numGpuBlocks",
  "decodeMsPerSeq",
  "preciseTimers"
]

/**
 * Validates `patch` (a `Partial<SimOptions>` from code or an untrusted JSON value) and returns `base` with it
 * applied. Throws `SimOptionsError` naming the offending field; unknown fields are rejected.
 */
export const mergeOptions = (base: SimOptions, patch: unknown): SimOptions => {
  if (!isRecord(patch)) return fail(`options must be a JSON object, got ${show(patch)}`)
  onlyKeys("options", patch, optionKeys)
  const p = patch
  let models = base.models
  if (p["models"] !== undefined) {
    const m = p["models"]
    if (!Array.isArray(m) || m.length === 0 || !m.every((x) => typeof x === "string" && x.length > 0)) {
      return fail(`models must be a non-empty list of non-empty strings, got ${show(m)}`)
    }
    models = [...(m as ReadonlyArray<string>)]
  }
  const apiKey = p["apiKey"] === undefined ?
    base.apiKey :
    p["apiKey"] === null || (typeof p["apiKey"] === "string" && p["apiKey"].length > 0) ?
    p["apiKey"] :
    fail(`apiKey must be a non-empty string or null, got ${show(p["apiKey"])}`)
  return {
    models,
    ttftMs: p["ttftMs"] === undefined ? base.ttftMs : nonNegative("ttftMs", p["ttftMs"]),
    interTokenMs: p["interTokenMs"] === undefined ? base.interTokenMs : nonNegative("interTokenMs", p["interTokenMs"]),
    outputTokens: p["outputTokens"] === undefined ?
      base.outputTokens :
      integerAtLeast("outputTokens", p["outputTokens"], 0),
    maxConcurrency: p["maxConcurrency"] === undefined ?
      base.maxConcurrency :
      integerAtLeast("maxConcurrency", p["maxConcurrency"], 0),
    apiKey,
    fault: p["fault"] === undefined ? base.fault : parseFault(p["fault"]),
    embeddingDims: p["embeddingDims"] === undefined ?
      base.embeddingDims :
      integerAtLeast("embeddingDims", p["embeddingDims"], 1),
    roleChunkEarly: p["roleChunkEarly"] === undefined ?
      base.roleChunkEarly :
      typeof p["roleChunkEarly"] === "boolean" ?
      p["roleChunkEarly"] :
      fail(`roleChunkEarly must be a boolean, got ${show(p["roleChunkEarly"])}`),
    prefillTokensPerSecond: p["prefillTokensPerSecond"] === undefined ?
      base.prefillTokensPerSecond :
      nonNegative("prefillTokensPerSecond", p["prefillTokensPerSecond"]),
    numGpuBlocks: p["numGpuBlocks"] === undefined ? base.numGpuBlocks : integerAtLeast("numGpuBlocks", p["numGpuBlocks"], 1),
    decodeMsPerSeq: p["decodeMsPerSeq"] === undefined ? base.decodeMsPerSeq : nonNegative("decodeMsPerSeq", p["decodeMsPerSeq"]),
    preciseTimers: p["preciseTimers"] === undefined ?
      base.preciseTimers :
      typeof p["preciseTimers"] === "boolean" ?
      p["preciseTimers"] :
      fail(`preciseTimers must be a boolean, got ${show(p["preciseTimers"])}`)
  }
}
