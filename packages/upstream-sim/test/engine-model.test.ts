/**
 * The engine model (prefillTokensPerSecond > 0) against its formulas: prefill time = uncached prompt
 * tokens / rate, one prefill at a time; the prefix cache in 16-token blocks; decode steps slower with
 * the batch; /metrics consistent with it. Timings hold on a loaded machine: each is checked to be at
 * least the formula's figure (timers never fire early) and well below the next case's.
 */
import { describe, expect, it } from "vitest"
import { blockChain, promptTokensOf } from "../src/PrefixCache.js"
import { post, useSim } from "./helpers.js"

const words = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(" ")
const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "sim-model",
  messages: [{ role: "user", content }],
  max_tokens: 1,
  ...extra
})

/** Milliseconds until the answer of a non-streamed request (max_tokens 1: prefill only). */
const timed = async (url: string, body: unknown) => {
  const t0 = performance.now()
  const response = await post(url, body)
  await response.text()
  return performance.now() - t0
}

describe("the prefix cache's blocks", () => {
  it("hashes only full 16-token blocks, each standing for its whole prefix", () => {
    const a = blockChain(words("w", 40).split(" "))
    expect(a).toHaveLength(2)
    const b = blockChain(`${words("w", 16)} other ${words("x", 30)}`.split(" "))
    expect(b[0]).toBe(a[0])
    expect(b[1]).not.toBe(a[1])
  })

  it("reads chat message contents in order, text parts included, and completion prompts", () => {
    expect(promptTokensOf({ messages: [{ content: "a b" }, { content: [{ type: "text", text: "c" }] }] })).toEqual(["a", "b", "c"])
    expect(promptTokensOf({ prompt: "x  y" })).toEqual(["x", "y"])
  })
})

describe("engine model", () => {
  it("prefills a prompt at the configured rate, and a repeated prompt from its cache", async () => {
    const sim = await useSim({ prefillTokensPerSecond: 8000 })
    const url = `${sim.baseUrl}/chat/completions`
    const prompt = words("p", 1600) // 200 ms at 8,000 tokens/s
    const cold = await timed(url, chat(prompt))
    const warm = await timed(url, chat(prompt))
    expect(cold).toBeGreaterThanOrEqual(199)
    expect(warm).toBeLessThan(cold / 2)
    // 1,600 tokens queried twice; the second time all 100 blocks are found, but the last token is recomputed.
    expect(sim.counters()).toMatchObject({ prefixCacheQueries: 3200, prefixCacheHits: 1599 })
  })

  it("prefills one request at a time: the second waits for the first", async () => {
    const sim = await useSim({ prefillTokensPerSecond: 8000 })
    const url = `${sim.baseUrl}/chat/completions`
    const [first, second] = await Promise.all([timed(url, chat(words("a", 1200))), timed(url, chat(words("b", 1200)))])
    // 150 ms each: one ends after 150 ms, the other after 300 ms.
    expect(Math.max(first!, second!)).toBeGreaterThanOrEqual(299)
  })

  it("keeps at most numGpuBlocks blocks in its prefix cache (LRU)", async () => {
    const sim = await useSim({ prefillTokensPerSecond: 1_000_000, numGpuBlocks: 100 })
    const url = `${sim.baseUrl}/chat/completions`
    await timed(url, chat(words("a", 1600))) // 100 blocks: the whole cache
    await timed(url, chat(words("b", 800))) // 50 more: the 50 least recent go, a's last ones
    await timed(url, chat(words("a", 1600)))
    expect(sim.counters().prefixCacheHits).toBe(800) // a's leading 50 blocks are still there
  })

  it("slows each decode step by decodeMsPerSeq per running request", async () => {
    const sim = await useSim({ prefillTokensPerSecond: 1_000_000, decodeMsPerSeq: 10, outputTokens: 11 })
    const url = `${sim.baseUrl}/chat/completions`
    const alone = await timed(url, chat("hi", { max_tokens: 11, stream: true }))
    const together = await Promise.all(Array.from({ length: 4 }, () => timed(url, chat("hi", { max_tokens: 11, stream: true }))))
    // 10 steps of 10 ms alone; 10 steps of up to 40 ms, at least 30 while 4 run, together (the sim's timers
    // may run a few ms short of a whole answer, hence 90 %)
    expect(alone).toBeGreaterThanOrEqual(90)
    expect(Math.min(...together)).toBeGreaterThanOrEqual(270)
  })

  it("reports queue, running, KV cache usage, prefix cache counters and its cache config on /metrics", async () => {
    const sim = await useSim({ prefillTokensPerSecond: 4000, numGpuBlocks: 1000, maxConcurrency: 1 })
    const url = `${sim.baseUrl}/chat/completions`
    const pending = [timed(url, chat(words("a", 1600))), timed(url, chat(words("b", 1600)))]
    await new Promise((r) => setTimeout(r, 100))
    const text = await (await fetch(`${sim.url}/metrics`)).text()
    expect(text).toContain(`vllm:num_requests_running{model_name="sim-model"} 1\n`)
    expect(text).toContain(`vllm:num_requests_waiting{model_name="sim-model"} 1\n`)
    // the running job holds ceil((1600 prompt + 1 output) / 16) = 101 of 1000 blocks
    expect(text).toContain(`vllm:kv_cache_usage_perc{model_name="sim-model"} 0.101\n`)
    expect(text).toContain(`vllm:cache_config_info{block_size="16",enable_prefix_caching="True",num_gpu_blocks="1000"} 1.0\n`)
    expect(text).toContain(`vllm:prefix_cache_queries_total{model_name="sim-model"} 1600\n`)
    expect(text).toContain("# TYPE vllm:prefix_cache_hits counter\n")
    // prometheus_client's name[] filter, as vLLM's /metrics has it: those samples and their HELP/TYPE only.
    const only = await (await fetch(`${sim.url}/metrics?name[]=vllm:num_requests_waiting&name%5B%5D=vllm:cache_config_info`)).text()
    expect(only.split("\n").filter((line) => line !== "" && !line.startsWith("#"))).toEqual([
      `vllm:cache_config_info{block_size="16",enable_prefix_caching="True",num_gpu_blocks="1000"} 1.0`,
      `vllm:num_requests_waiting{model_name="sim-model"} 1`
    ])
    expect(only).toContain("# TYPE vllm:num_requests_waiting gauge\n")
    await Promise.all(pending)
  })

  it("queues a request whose KV blocks do not fit beside the running ones", async () => {
    // A prefill of 800 ms: the second request arrives while the first still runs, on a loaded machine too.
    const sim = await useSim({ prefillTokensPerSecond: 2000, numGpuBlocks: 150 })
    const url = `${sim.baseUrl}/chat/completions`
    const pending = [timed(url, chat(words("a", 1600))), timed(url, chat(words("b", 1600)))] // 101 blocks each
    for (let i = 0; i < 500 && sim.counters().requests < 2; i++) await new Promise((r) => setTimeout(r, 5))
    expect(sim.counters()).toMatchObject({ requests: 2, running: 1, waiting: 1 })
    await Promise.all(pending)
  })
})
