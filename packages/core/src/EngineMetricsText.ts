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
      else if (this.carry === "") this.line(chunk, start, nl)
      else {
        const line = this.carry + chunk.slice(start, nl)
        this.line(line, 0, line.length)
      }
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
    if (this.carry !== "" && !this.skipping) this.line(this.carry, 0, this.carry.length)
    this.carry = ""
    return {
      queue: this.queue,
      running: this.running,
      kvCacheUsage: this.kv ?? this.gpuCache,
      blockSize: this.blockSize,
      numGpuBlocks: this.numGpuBlocks
    }
  }

  /**
   * One line, `text[from, to)`, read in place: a real exposition is some 30 KB of histograms we do not
   * read, so a line is turned away on its first characters without a substring being made of it.
   */
  private line(text: string, from: number, to: number): void {
    const name = sampleName(text, from)
    if (name === NONE) return
    const nameEnd = from + NAMES[name]!.length
    let labelsEnd = nameEnd
    if (text.charCodeAt(nameEnd) === 123 /* { */) {
      labelsEnd = text.indexOf("}", nameEnd) + 1
      if (labelsEnd === 0 || labelsEnd > to) return
    }
    switch (name < SGLANG ? name : name - SGLANG) {
      case QUEUE:
        this.queue = (this.queue ?? 0) + value(text, labelsEnd, to)
        return
      case RUNNING:
        this.running = (this.running ?? 0) + value(text, labelsEnd, to)
        return
      case KV:
        this.kv = Math.max(this.kv ?? 0, value(text, labelsEnd, to))
        return
      case GPU_CACHE:
        this.gpuCache = Math.max(this.gpuCache ?? 0, value(text, labelsEnd, to))
        return
      case CACHE_CONFIG: {
        const labels = text.slice(nameEnd, labelsEnd)
        this.blockSize = labelValue(labels, "block_size") ?? this.blockSize
        this.numGpuBlocks = labelValue(labels, "num_gpu_blocks") ?? this.numGpuBlocks
        return
      }
    }
  }
}

const NONE = -1
const QUEUE = 0
const RUNNING = 1
const KV = 2
const GPU_CACHE = 3
const CACHE_CONFIG = 4
/** The samples read: vLLM's, by kind, then SGLang's from SGLANG on (queue, running, KV). */
const SGLANG = 5
export const ENGINE_METRIC_NAMES = [
  "vllm:num_requests_waiting",
  "vllm:num_requests_running",
  "vllm:kv_cache_usage_perc",
  "vllm:gpu_cache_usage_perc",
  "vllm:cache_config_info",
  "sglang:num_queue_reqs",
  "sglang:num_running_reqs",
  "sglang:token_usage"
] as const
const NAMES = ENGINE_METRIC_NAMES
/** The characters after `vllm:` that the names above start with (n, k, g, c). */
const VLLM_SIXTH = new Set(NAMES.slice(0, SGLANG).map((n) => n.charCodeAt(5)))

/** The index in NAMES of the sample name the line at `from` starts with (followed by `{` or a space), or NONE. */
const sampleName = (text: string, from: number): number => {
  const c = text.charCodeAt(from)
  let first: number
  let last: number
  if (c === 118 /* v */) {
    if (!VLLM_SIXTH.has(text.charCodeAt(from + 5)) || !text.startsWith("vllm:", from)) return NONE
    first = 0
    last = SGLANG
  } else if (c === 115 /* s */) {
    if (!text.startsWith("sglang:", from)) return NONE
    first = SGLANG
    last = NAMES.length
  } else return NONE
  for (let i = first; i < last; i++) {
    if (text.startsWith(NAMES[i]!, from)) {
      // vllm:num_requests_waiting_by_reason and the like: the name must end there.
      const after = text.charCodeAt(from + NAMES[i]!.length)
      if (after === 123 || after === 32) return i
    }
  }
  return NONE
}

/** The sample value in `text[from, to)` after the name and labels (an optional timestamp after it is ignored). */
const value = (text: string, from: number, to: number): number => {
  let start = from
  while (start < to && text.charCodeAt(start) === 32) start++
  let end = text.indexOf(" ", start)
  if (end === -1 || end > to) end = to
  const n = Number(text.slice(start, end))
  return Number.isFinite(n) && n >= 0 ? n : 0
}

/** Parses a whole exposition text (tests, small bodies). */
export const parseEngineMetrics = (text: string): EngineFigures => {
  const parser = new EngineMetricsParser()
  parser.push(text)
  return parser.end()
}
