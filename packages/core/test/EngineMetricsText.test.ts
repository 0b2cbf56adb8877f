import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { EngineMetricsParser, parseEngineMetrics } from "../src/EngineMetricsText.js"

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
