/**
 * Child process of bench:routing's scrape measurement: N `/metrics` servers on 127.0.0.1, each answering
 * the exposition of a vLLM 0.10-like server with one model (its gauges and counters, thirteen histograms,
 * the Python process metrics: about 35 KB, the size of a real one). `/metrics` honours prometheus_client's
 * `name[]` filter as vLLM's does; `/metrics-full` always answers everything (a server without it). Kept out
 * of the scraping process so that its CPU counts only the scraper. `GET /count` on any of them answers the
 * scrapes served so far.
 * Prints `metrics servers: <port> <port> ...` when all listen.
 * Usage: tsx scripts/lib/metrics-servers.ts <count>
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

const MODEL = `model_name="meta-llama/Llama-3.1-8B-Instruct"`
const LABELS = `engine="0",${MODEL}`

const histograms: ReadonlyArray<[name: string, help: string, buckets: ReadonlyArray<number>]> = [
  ["time_to_first_token_seconds", "Histogram of time to first token in seconds.", [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560]],
  ["inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80]],
  ["e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]],
  ["request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]],
  ["request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]],
  ["request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]],
  ["request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]],
  ["request_prompt_tokens", "Number of prefill tokens processed.", [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]],
  ["request_generation_tokens", "Number of generation tokens processed.", [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]],
  ["request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.", [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]],
  ["request_params_n", "Histogram of the n request parameter.", [1, 2, 5, 10, 20]],
  ["request_params_max_tokens", "Histogram of the max_tokens request parameter.", [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]],
  ["iteration_tokens_total", "Histogram of number of tokens per engine_step.", [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]]
]

/** A vLLM-like exposition, the counts varied by `seed` so that the servers do not all answer alike. */
const exposition = (seed: number): string => {
  let out = ""
  for (const gen of ["0", "1", "2"]) {
    out += `# HELP python_gc_objects_collected_total Objects collected during gc\n# TYPE python_gc_objects_collected_total counter\n`
    out += `python_gc_objects_collected_total{generation="${gen}"} ${12_000 + seed * 7}.0\n`
  }
  for (const [name, value] of [["process_virtual_memory_bytes", 3.1e10], ["process_resident_memory_bytes", 2.4e9], ["process_start_time_seconds", 1.76e9], ["process_cpu_seconds_total", 1234.5], ["process_open_fds", 96], ["process_max_fds", 1_048_576]] as const) {
    out += `# HELP ${name} ${name.replaceAll("_", " ")}.\n# TYPE ${name} gauge\n${name} ${value + seed}\n`
  }
  out += `# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n# TYPE vllm:cache_config_info gauge\n`
  out += `vllm:cache_config_info{block_size="16",cache_dtype="auto",calculate_kv_scales="False",cpu_offload_gb="0",enable_prefix_caching="True",engine="0",gpu_memory_utilization="0.9",is_attention_free="False",num_cpu_blocks="None",num_gpu_blocks="4000",num_gpu_blocks_override="None",prefix_caching_hash_algo="builtin",sliding_window="None",swap_space="4",swap_space_bytes="4294967296"} 1.0\n`
  for (const [name, help, value] of [["num_requests_running", "Number of requests in model execution batches.", seed % 9], ["num_requests_waiting", "Number of requests waiting to be processed.", seed % 3], ["kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", (seed % 10) / 10]] as const) {
    out += `# HELP vllm:${name} ${help}\n# TYPE vllm:${name} gauge\nvllm:${name}{${LABELS}} ${value}\n`
  }
  for (const name of ["num_preemptions", "prompt_tokens", "generation_tokens", "prefix_cache_queries", "prefix_cache_hits"]) {
    out += `# HELP vllm:${name}_total Cumulative ${name.replaceAll("_", " ")}.\n# TYPE vllm:${name}_total counter\n`
    out += `vllm:${name}_total{${LABELS}} ${1_000_000 + seed * 13}.0\n`
  }
  out += `# HELP vllm:request_success_total Count of successfully processed requests.\n# TYPE vllm:request_success_total counter\n`
  for (const reason of ["stop", "length", "abort"]) out += `vllm:request_success_total{engine="0",finished_reason="${reason}",${MODEL}} ${seed * 3}.0\n`
  for (const [name, help, buckets] of histograms) {
    out += `# HELP vllm:${name} ${help}\n# TYPE vllm:${name} histogram\n`
    let count = 0
    for (const le of buckets) {
      count += seed % 5
      out += `vllm:${name}_bucket{${LABELS},le="${le.toFixed(1)}"} ${count}.0\n`
    }
    out += `vllm:${name}_bucket{${LABELS},le="+Inf"} ${count}.0\nvllm:${name}_count{${LABELS}} ${count}.0\nvllm:${name}_sum{${LABELS}} ${count * 0.37}\n`
  }
  return out
}

/**
 * `text` restricted to the samples named in `query`'s `name[]` (with their HELP and TYPE lines), as
 * prometheus_client's filter answers; undefined when it names none.
 */
const restricted = (text: string, query: string): string | undefined => {
  const names = new Set(new URLSearchParams(query).getAll("name[]"))
  if (names.size === 0) return undefined
  return text.split("\n").filter((line) => {
    const name = line.startsWith("# ") ? line.split(" ")[2] : line.split(/[{ ]/)[0]
    return name !== undefined && names.has(name)
  }).map((line) => `${line}\n`).join("")
}

const count = Number(process.argv[2] ?? "50")
let served = 0
const ports: Array<number> = []
for (let i = 0; i < count; i++) {
  const body = exposition(i)
  const filtered = new Map<string, string | undefined>()
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/"
    if (url === "/count") {
      res.writeHead(200, { "content-type": "text/plain" })
      res.end(String(served))
      return
    }
    served++
    // /metrics honours name[] like vLLM's; /metrics-full is a server without the filter.
    const q = url.indexOf("?")
    const query = q === -1 ? "" : url.slice(q + 1)
    if (!filtered.has(query)) filtered.set(query, restricted(body, query))
    const text = (url.startsWith("/metrics-full") ? undefined : filtered.get(query)) ?? body
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(text) })
    res.end(text)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  ports.push((server.address() as AddressInfo).port)
}
console.log(`metrics servers: ${exposition(0).length} bytes each on ${ports.join(" ")}`)
