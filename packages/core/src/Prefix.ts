/**
 * Prefix affinity (routing mode `load`): a prompt is cut into blocks of 64 characters (about 16 tokens)
 * whose hashes form a chain, h_i = hash(block_i, h_{i-1}), so a block hash stands for the whole prompt
 * up to and including that block. Each endpoint keeps an LRU set of the block hashes it was sent; the
 * match of a request on an endpoint is the share of its leading blocks found there. The hash function
 * itself is the caller's (the balancer uses xxhash64); this module is pure.
 */

/** Characters per block: about 16 tokens at 4 characters a token, vLLM's default block size. */
export const BLOCK_CHARS = 64
/** Longer prompts are hashed up to this many blocks (512 Ki characters). */
export const MAX_BLOCKS = 8192
/** An endpoint's set holds this many blocks while its engine's cache size is unknown. */
export const DEFAULT_CAPACITY = 32_768
/** Tokens per block of ours, to convert an engine's cache size (blocks x block_size tokens). */
export const TOKENS_PER_BLOCK = 16

/** Blocks of a prompt of `length` characters (a last partial block counts), at most MAX_BLOCKS. */
export const blockCount = (length: number): number => Math.min(Math.ceil(length / BLOCK_CHARS), MAX_BLOCKS)

/** Capacity of an endpoint's set from its engine's KV cache (`num_gpu_blocks` x `block_size` tokens). */
export const capacityOf = (numGpuBlocks: number | undefined, blockSize: number | undefined): number =>
  numGpuBlocks !== undefined && blockSize !== undefined && numGpuBlocks > 0 && blockSize > 0
    ? Math.max(1, Math.floor((numGpuBlocks * blockSize) / TOKENS_PER_BLOCK))
    : DEFAULT_CAPACITY

/**
 * The block hashes an endpoint was sent, least recently used first (a Map keeps insertion order).
 * A chain is recorded last block first, so its leading blocks are the most recent: a block is then
 * never evicted before a later block of the same chain, the set stays prefix-closed, and the leading
 * match can be found by binary search.
 */
export class PrefixSet {
  private readonly blocks = new Map<number, true>()

  constructor(private capacityBlocks: number = DEFAULT_CAPACITY) {}

  get size(): number {
    return this.blocks.size
  }

  get capacity(): number {
    return this.capacityBlocks
  }

  /** A new capacity (the engine reported its cache size); the oldest blocks go when it shrinks. */
  resize(capacity: number): void {
    this.capacityBlocks = Math.max(1, capacity)
    this.evict()
  }

  has(hash: number): boolean {
    return this.blocks.has(hash)
  }

  /** Records a request's chain as sent to this endpoint. */
  record(chain: ArrayLike<number>): void {
    const blocks = this.blocks
    // Only the last `capacity` leading blocks can be kept anyway.
    const n = Math.min(chain.length, this.capacityBlocks)
    for (let i = n - 1; i >= 0; i--) {
      const h = chain[i]!
      blocks.delete(h)
      blocks.set(h, true)
    }
    this.evict()
  }

  /** Leading blocks of `chain` found here (binary search over a prefix-closed set). */
  matched(chain: ArrayLike<number>): number {
    const n = chain.length
    if (n === 0 || !this.blocks.has(chain[0]!)) return 0
    let lo = 1 // chain[0..lo) found
    let hi = n // chain[hi-1] not known to be found
    if (this.blocks.has(chain[n - 1]!)) return n
    hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1 // is block mid-1 found?
      if (this.blocks.has(chain[mid - 1]!)) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  clear(): void {
    this.blocks.clear()
  }

  private evict(): void {
    const blocks = this.blocks
    if (blocks.size <= this.capacityBlocks) return
    const keys = blocks.keys()
    for (let excess = blocks.size - this.capacityBlocks; excess > 0; excess--) blocks.delete(keys.next().value!)
  }
}

/** The match ratio: leading blocks found over the request's blocks (0 for an empty prompt). */
export const matchRatio = (matched: number, blocks: number): number => (blocks === 0 ? 0 : matched / blocks)
