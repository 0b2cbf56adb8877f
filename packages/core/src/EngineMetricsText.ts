/**
 * Reads the figures routing mode `load` needs from an engine's Prometheus text exposition, chunk by
 * chunk as it arrives (no whole-body buffer, no regular expression per line): vLLM's
 * `vllm:num_requests_waiting`, `vllm:num_requests_running`, `vllm:kv_cache_usage_perc` (else the removed
 * `vllm:gpu_cache_usage_perc`) and `vllm:cache_config_info` (`block_size`, `num_gpu_blocks`); SGLang's
 * `sglang:num_queue_reqs`, `sglang:num_running_reqs` and `sglang:token_usage`. Counts are summed over
 * the series (one per model), usages take the largest.
 */

export interface EngineFigures {
  /** Requests waiting in the engine's queue; undefined when it did not say. */
  readonly queue: number | undefined
  readonly running: number | undefined
  /** KV cache usage, 0..1. */
  readonly kvCacheUsage: number | undefined
  readonly blockSize: number | undefined
  readonly numGpuBlocks: number | undefined
}

/** A line longer than this is no metric we read: it is skipped, not buffered. */
const MAX_LINE = 8192

const labelValue = (labels: string, name: string): number | undefined => {
  const at = labels.indexOf(`${name}="`)
  if (at === -1) return undefined
  const start = at + name.length + 2
  const end = labels.indexOf('"', start)
  if (end === -1) return undefined
  const n = Number(labels.slice(start, end))
  return Number.isFinite(n) ? n : undefined
}

export class EngineMetricsParser {
  private carry = ""
  private skipping = false
  private queue: number | undefined
  private running: number | undefined
  private kv: number | undefined
  private gpuCache: number | undefined
  private blockSize: number | undefined
  private numGpuBlocks: number | undefined

  /** Feeds the next piece of the body. */
  push(chunk: string): void {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf("\n", start)
      if (nl === -1) break
      if (this.skipping) this.skipping = false
      else this.line(this.carry === "" ? chunk.slice(start, nl) : this.carry + chunk.slice(start, nl))
      this.carry = ""
      start = nl + 1
    }
    if (start < chunk.length && !this.skipping) {
      this.carry += chunk.slice(start)
      if (this.carry.length > MAX_LINE) {
        this.carry = ""
        this.skipping = true
      }
    }
  }

  /** The figures, once the body has ended. */
  end(): EngineFigures {
    if (this.carry !== "" && !this.skipping) this.line(this.carry)
    this.carry = ""
    return {
      queue: this.queue,
      running: this.running,
      kvCacheUsage: this.kv ?? this.gpuCache,
      blockSize: this.blockSize,
      numGpuBlocks: this.numGpuBlocks
    }
  }

  private line(line: string): void {
    const c = line.charCodeAt(0)
    // Only "vllm:..." and "sglang:..." samples; comments and everything else are skipped at once.
    if (c !== 118 /* v */ && c !== 115 /* s */) return
    const space = line.indexOf(" ")
    const brace = line.indexOf("{")
    const nameEnd = brace !== -1 && (space === -1 || brace < space) ? brace : space
    if (nameEnd === -1) return
    const name = line.slice(0, nameEnd)
    const labelsEnd = nameEnd === brace ? line.indexOf("}", brace) + 1 : nameEnd
    if (labelsEnd === 0) return
    switch (name) {
      case "vllm:num_requests_waiting":
      case "sglang:num_queue_reqs":
        this.queue = (this.queue ?? 0) + this.value(line, labelsEnd)
        return
      case "vllm:num_requests_running":
      case "sglang:num_running_reqs":
        this.running = (this.running ?? 0) + this.value(line, labelsEnd)
        return
      case "vllm:kv_cache_usage_perc":
      case "sglang:token_usage":
        this.kv = Math.max(this.kv ?? 0, this.value(line, labelsEnd))
        return
      case "vllm:gpu_cache_usage_perc":
        this.gpuCache = Math.max(this.gpuCache ?? 0, this.value(line, labelsEnd))
        return
      case "vllm:cache_config_info": {
        const labels = line.slice(nameEnd, labelsEnd)
        this.blockSize = labelValue(labels, "block_size") ?? this.blockSize
        this.numGpuBlocks = labelValue(labels, "num_gpu_blocks") ?? this.numGpuBlocks
        return
      }
    }
  }

  /** The sample value after the name and labels (an optional timestamp after it is ignored). */
  private value(line: string, from: number): number {
    let start = from
    while (line.charCodeAt(start) === 32) start++
    const end = line.indexOf(" ", start)
    const n = Number(end === -1 ? line.slice(start) : line.slice(start, end))
    return Number.isFinite(n) && n >= 0 ? n : 0
  }
}

/** Parses a whole exposition text (tests, small bodies). */
export const parseEngineMetrics = (text: string): EngineFigures => {
  const parser = new EngineMetricsParser()
  parser.push(text)
  return parser.end()
}
