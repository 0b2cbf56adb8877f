/** Command-line arguments of the sim CLI, parsed with `node:util` parseArgs into `startSim` options. */
import { parseArgs } from "node:util"
import { defaultOptions, type Fault, mergeOptions, SimOptionsError } from "./Options.js"
import type { StartOptions } from "./Sim.js"

export const usage = `Usage: corepack pnpm sim [options]

A simulated vLLM server (OpenAI-compatible /v1 routes, SSE with usage, /metrics, fault injection).

Options:
  --port N                 port to listen on (default 8000; 0 = a free port)
  --host H                 address to bind (default 127.0.0.1)
  --model NAME             a served model name; repeat for several (default sim-model)
  --ttft-ms MS             delay before the first token (default 0)
  --itl-ms MS              delay between streamed tokens (default 0)
  --output-tokens N        tokens generated when max_tokens is larger or absent (default 16)
  --max-concurrency N      running requests at most, the rest wait FIFO (default 0 = unlimited)
  --max-num-seqs N         the same, by vLLM's name
  --prefill-tps N          engine model: prompt tokens prefilled per second, uncached ones only (default 0 = off)
  --num-gpu-blocks N       engine model: KV cache and prefix cache size in 16-token blocks (default 8192)
  --decode-ms-per-seq MS   engine model: decode step time added per running request (default 0)
  --api-key KEY            require Authorization: Bearer KEY on /v1/*
  --embedding-dims N       embedding vector size (default 8)
  --fault KIND             none | status | hang | slow-headers | close-mid-stream
  --fault-status S         answer HTTP S (400..599); implies --fault status
  --fault-every N          with status: only every Nth generation request (default 1)
  --fault-retry-after SEC  with status: send Retry-After
  --fault-delay-ms MS      with slow-headers: the delay
  --fault-after-chunks N   with close-mid-stream: SSE chunks before the connection closes
  -h, --help               print this help

Control at run time: GET /sim/stats, GET|POST /sim/config (JSON patch), POST /sim/reset, GET /metrics.`

export class CliError extends Error {
  override readonly name = "CliError"
}

export type CliCommand = { readonly kind: "help" } | { readonly kind: "run"; readonly options: StartOptions }

const number = (flag: string, raw: string | undefined, integer: boolean): number | undefined => {
  if (raw === undefined) return undefined
  const ok = integer ? /^\d+$/.test(raw) : /^\d+(\.\d+)?$/.test(raw)
  if (!ok) throw new CliError(`--${flag} must be a non-negative ${integer ? "integer" : "number"}, got "${raw}"`)
  return Number(raw)
}

const faultOf = (v: Record<string, string | undefined>): Fault | undefined => {
  const status = number("fault-status", v["fault-status"], true)
  const every = number("fault-every", v["fault-every"], true)
  const retryAfter = number("fault-retry-after", v["fault-retry-after"], false)
  const delayMs = number("fault-delay-ms", v["fault-delay-ms"], false)
  const afterChunks = number("fault-after-chunks", v["fault-after-chunks"], true)
  const kind = v["fault"] ?? (status !== undefined ? "status" : undefined)
  const unused = (flags: Record<string, number | undefined>): void => {
    for (const [flag, value] of Object.entries(flags)) {
      if (value !== undefined) throw new CliError(`--${flag} does not apply to --fault ${kind ?? "none"}`)
    }
  }
  switch (kind) {
    case undefined:
    case "none":
    case "hang":
      unused({ "fault-status": status, "fault-every": every, "fault-retry-after": retryAfter, "fault-delay-ms": delayMs, "fault-after-chunks": afterChunks })
      return kind === undefined ? undefined : { kind }
    case "status":
      unused({ "fault-delay-ms": delayMs, "fault-after-chunks": afterChunks })
      if (status === undefined) throw new CliError("--fault status needs --fault-status S")
      return {
        kind,
        status,
        ...(every === undefined ? {} : { every }),
        ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter })
      }
    case "slow-headers":
      unused({ "fault-status": status, "fault-every": every, "fault-retry-after": retryAfter, "fault-after-chunks": afterChunks })
      if (delayMs === undefined) throw new CliError("--fault slow-headers needs --fault-delay-ms MS")
      return { kind, delayMs }
    case "close-mid-stream":
      unused({ "fault-status": status, "fault-every": every, "fault-retry-after": retryAfter, "fault-delay-ms": delayMs })
      if (afterChunks === undefined) throw new CliError("--fault close-mid-stream needs --fault-after-chunks N")
      return { kind, afterChunks }
    default:
      throw new CliError(`--fault must be none, status, hang, slow-headers or close-mid-stream, got "${kind}"`)
  }
}

/** Parses the arguments (without node and the script); throws `CliError` with a message for the user. */
export const parseCli = (args: ReadonlyArray<string>): CliCommand => {
  let parsed
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        port: { type: "string" },
        host: { type: "string" },
        model: { type: "string", multiple: true },
        "ttft-ms": { type: "string" },
        "itl-ms": { type: "string" },
        "output-tokens": { type: "string" },
        "max-concurrency": { type: "string" },
        "max-num-seqs": { type: "string" },
        "prefill-tps": { type: "string" },
        "num-gpu-blocks": { type: "string" },
        "decode-ms-per-seq": { type: "string" },
        "api-key": { type: "string" },
        "embedding-dims": { type: "string" },
        fault: { type: "string" },
        "fault-status": { type: "string" },
        "fault-every": { type: "string" },
        "fault-retry-after": { type: "string" },
        "fault-delay-ms": { type: "string" },
        "fault-after-chunks": { type: "string" }
      }
    })
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e))
  }
  const v = parsed.values
  if (v.help === true) return { kind: "help" }
  const port = number("port", v.port, true) ?? 8000
  if (port > 65535) throw new CliError(`--port must be at most 65535, got ${port}`)
  const host = v.host ?? "127.0.0.1"
  const fault = faultOf(v as Record<string, string | undefined>)
  const ttftMs = number("ttft-ms", v["ttft-ms"], false)
  const interTokenMs = number("itl-ms", v["itl-ms"], false)
  const outputTokens = number("output-tokens", v["output-tokens"], true)
  if (v["max-concurrency"] !== undefined && v["max-num-seqs"] !== undefined) {
    throw new CliError("--max-concurrency and --max-num-seqs are the same option: give one")
  }
  const maxConcurrency = number("max-concurrency", v["max-concurrency"], true) ?? number("max-num-seqs", v["max-num-seqs"], true)
  const prefillTokensPerSecond = number("prefill-tps", v["prefill-tps"], false)
  const numGpuBlocks = number("num-gpu-blocks", v["num-gpu-blocks"], true)
  const decodeMsPerSeq = number("decode-ms-per-seq", v["decode-ms-per-seq"], false)
  const embeddingDims = number("embedding-dims", v["embedding-dims"], true)
  const options: StartOptions = {
    port,
    host,
    ...(v.model === undefined ? {} : { models: v.model }),
    ...(ttftMs === undefined ? {} : { ttftMs }),
    ...(interTokenMs === undefined ? {} : { interTokenMs }),
    ...(outputTokens === undefined ? {} : { outputTokens }),
    ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
    ...(v["api-key"] === undefined ? {} : { apiKey: v["api-key"] }),
    ...(embeddingDims === undefined ? {} : { embeddingDims }),
    ...(prefillTokensPerSecond === undefined ? {} : { prefillTokensPerSecond }),
    ...(numGpuBlocks === undefined ? {} : { numGpuBlocks }),
    ...(decodeMsPerSeq === undefined ? {} : { decodeMsPerSeq }),
    ...(fault === undefined ? {} : { fault })
  }
  // The same checks as startSim, so a bad value is reported as a usage error (exit 2).
  try {
    const { port: _port, host: _host, ...simOptions } = options
    mergeOptions(defaultOptions, simOptions)
  } catch (e) {
    if (e instanceof SimOptionsError) throw new CliError(e.message)
    throw e
  }
  return { kind: "run", options }
}
