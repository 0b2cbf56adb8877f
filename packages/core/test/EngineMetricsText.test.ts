import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { ENGINE_METRIC_NAMES, EngineMetricsParser, parseEngineMetrics } from "../src/EngineMetricsText.js"

const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="a"} 3.0
vllm:num_requests_running{engine="0",model_name="b"} 1.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="a"} 7.0
vllm:num_requests_waiting{engine="0",model_name="b"} 2.0
vllm:kv_cache_usage_perc{engine="0",model_name="a"} 0.25
vllm:gpu_cache_usage_perc{engine="0",model_name="a"} 0.99
vllm:cache_config_info{block_size="16",cache_dtype="auto",num_gpu_blocks="2048",engine="0"} 1.0
vllm:prompt_tokens_total{model_name="a"} 12345.0
process_cpu_seconds_total 3.5
`

/** What the parser should read, the plain way: every line split, matched by a regular expression. */
const reference = (text: string) => {
  let queue: number | undefined, running: number | undefined, kv: number | undefined, gpu: number | undefined
  let blockSize: number | undefined, numGpuBlocks: number | undefined
  for (const line of text.split("\n")) {
    const m = /^([a-z:_]+)(\{[^}]*\})? +(\S+)/.exec(line)
    if (m === null) continue
    const n = Number(m[3])
    const v = Number.isFinite(n) && n >= 0 ? n : 0
    const label = (name: string) => {
      const l = new RegExp(`${name}="([^"]*)"`).exec(m[2] ?? "")
      const x = l === null ? NaN : Number(l[1])
      return Number.isFinite(x) ? x : undefined
    }
    switch (m[1]) {
      case "vllm:num_requests_waiting":
      case "sglang:num_queue_reqs":
        queue = (queue ?? 0) + v
        break
      case "vllm:num_requests_running":
      case "sglang:num_running_reqs":
        running = (running ?? 0) + v
        break
      case "vllm:kv_cache_usage_perc":
      case "sglang:token_usage":
        kv = Math.max(kv ?? 0, v)
        break
      case "vllm:gpu_cache_usage_perc":
        gpu = Math.max(gpu ?? 0, v)
        break
      case "vllm:cache_config_info":
        blockSize = label("block_size") ?? blockSize
        numGpuBlocks = label("num_gpu_blocks") ?? numGpuBlocks
    }
  }
  return { queue, running, kvCacheUsage: kv ?? gpu, blockSize, numGpuBlocks }
}

/** Exposition lines: the names read, names that start like them, comments, labels or none, timestamps. */
const lineArb = fc.oneof(
  fc.record({
    name: fc.constantFrom(
      ...ENGINE_METRIC_NAMES,
      "vllm:num_requests_waiting_by_reason",
      "vllm:num_preemptions_total",
      "vllm:kv_cache_usage_perc_max",
      "vllm:generation_tokens_total",
      "vllm:cache_config_info_x",
      "sglang:num_queue_reqs_total",
      "process_cpu_seconds_total"
    ),
    labels: fc.option(fc.tuple(fc.nat(64), fc.nat(100_000)).map(([b, n]) => `{block_size="${b}",model_name="m",num_gpu_blocks="${n}"}`)),
    value: fc.oneof(fc.nat(50).map(String), fc.double({ min: 0, max: 1, noNaN: true }).map(String), fc.constant("NaN"), fc.constant("-1")),
    timestamp: fc.boolean()
  }).map(({ name, labels, value, timestamp }) => `${name}${labels ?? ""} ${value}${timestamp ? " 1700000000000" : ""}`),
  fc.constantFrom("# HELP vllm:num_requests_waiting Number of requests waiting.", "# TYPE vllm:num_requests_waiting gauge", "")
)

describe("engine metrics text", () => {
  it("reads vLLM's queue, running, KV cache usage and cache size, summing per-model series", () => {
    expect(parseEngineMetrics(VLLM)).toEqual({ queue: 9, running: 4, kvCacheUsage: 0.25, blockSize: 16, numGpuBlocks: 2048 })
  })

  it("falls back to the removed vllm:gpu_cache_usage_perc", () => {
    expect(parseEngineMetrics(`vllm:gpu_cache_usage_perc{model_name="a"} 0.5\n`).kvCacheUsage).toBe(0.5)
  })

  it("reads SGLang's names, and samples without labels or with a timestamp", () => {
    const text = `sglang:num_queue_reqs{model_name="m"} 4\nsglang:num_running_reqs 6 1700000000000\nsglang:token_usage{model_name="m"} 0.75\n`
    expect(parseEngineMetrics(text)).toEqual({ queue: 4, running: 6, kvCacheUsage: 0.75, blockSize: undefined, numGpuBlocks: undefined })
  })

  it("says nothing of what the text does not hold", () => {
    expect(parseEngineMetrics("# nothing\nfoo 1\n")).toEqual({
      queue: undefined,
      running: undefined,
      kvCacheUsage: undefined,
      blockSize: undefined,
      numGpuBlocks: undefined
    })
  })

  it("skips an over-long line without buffering it", () => {
    const parser = new EngineMetricsParser()
    parser.push(`vllm:num_requests_waiting{x="${"y".repeat(20_000)}`)
    parser.push(`"} 5\nvllm:num_requests_running 2\n`)
    expect(parser.end()).toMatchObject({ queue: undefined, running: 2 })
  })

  it.prop("reads what a line-by-line reading reads, on any mix of samples", [fc.array(lineArb, { maxLength: 40 })], ([lines]) => {
    const text = lines.join("\n") + "\n"
    expect(parseEngineMetrics(text)).toEqual(reference(text))
  })

  it.prop("gives the same figures however the body is cut into chunks", [fc.array(fc.nat(VLLM.length), { maxLength: 12 })], ([cuts]) => {
    const points = [...new Set(cuts)].sort((a, b) => a - b)
    const parser = new EngineMetricsParser()
    let from = 0
    for (const p of points) {
      parser.push(VLLM.slice(from, p))
      from = p
    }
    parser.push(VLLM.slice(from))
    expect(parser.end()).toEqual(parseEngineMetrics(VLLM))
  })
})
