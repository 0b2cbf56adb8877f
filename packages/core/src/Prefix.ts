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

/** The first allocation of a set's arrays, in blocks: they double as the set fills, up to its capacity. */
const INITIAL_SLOTS = 256
const NONE = -1

/**
 * The block hashes an endpoint was sent, as an exact LRU: a doubly linked list, least recently used
 * first, over slots of typed arrays, indexed by an open-addressing table (linear probing, deletion by
 * backward shift). Recording a block costs O(1) and allocates nothing once the arrays have grown; a Map
 * paid a delete + set and an entry per block, the larger part of a load-mode dispatch.
 * A chain is recorded last block first, so its leading blocks are the most recent: a block is then
 * never evicted before a later block of the same chain, the set stays prefix-closed, and the leading
 * match can be found by binary search. Keys are non-negative integers below 2^53 (a hash's top bits).
 */
export class PrefixSet {
  private keys = new Float64Array(0)
  private prev = new Int32Array(0)
  private next = new Int32Array(0)
  /** Slot + 1 of the key homed here, 0 when empty; its length is a power of two, at least twice the slots. */
  private table = new Int32Array(0)
  private mask = 0
  private shift = 32
  private head = NONE // least recently used
  private tail = NONE // most recently used
  private freeHead = NONE
  private used = 0 // slots ever handed out (the rest of the arrays is fresh)
  private count = 0

  constructor(private capacityBlocks: number = DEFAULT_CAPACITY) {
    this.capacityBlocks = Math.max(1, capacityBlocks)
  }

  get size(): number {
    return this.count
  }

  get capacity(): number {
    return this.capacityBlocks
  }

  /** A new capacity (the engine reported its cache size); the oldest blocks go when it shrinks. */
  resize(capacity: number): void {
    this.capacityBlocks = Math.max(1, capacity)
    while (this.count > this.capacityBlocks) this.remove(this.head)
  }

  has(hash: number): boolean {
    return this.find(hash) !== NONE
  }

  /** Records a request's chain as sent to this endpoint. */
  record(chain: ArrayLike<number>): void {
    // Only the last `capacity` leading blocks can be kept anyway.
    for (let i = Math.min(chain.length, this.capacityBlocks) - 1; i >= 0; i--) this.touch(chain[i]!)
  }

  /** Leading blocks of `chain` found here (binary search over a prefix-closed set). */
  matched(chain: ArrayLike<number>): number {
    const n = chain.length
    if (n === 0 || !this.has(chain[0]!)) return 0
    let lo = 1 // chain[0..lo) found
    let hi = n // chain[hi-1] not known to be found
    if (this.has(chain[n - 1]!)) return n
    hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1 // is block mid-1 found?
      if (this.has(chain[mid - 1]!)) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  clear(): void {
    this.table.fill(0)
    this.head = this.tail = this.freeHead = NONE
    this.used = this.count = 0
  }

  /** Table position a key starts probing at: both 32-bit halves mixed (Fibonacci hashing), top bits kept. */
  private home(key: number): number {
    const lo = key >>> 0
    const hi = (key / 4294967296) >>> 0
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift
  }

  /** The key's table position, or NONE. */
  private find(key: number): number {
    const table = this.table
    if (table.length === 0) return NONE
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const entry = table[i]!
      if (entry === 0) return NONE
      if (this.keys[entry - 1] === key) return i
    }
  }

  /** Makes `key` the most recently used, inserting it (and evicting the least recent) when absent. */
  private touch(key: number): void {
    const at = this.find(key)
    if (at !== NONE) {
      const slot = this.table[at]! - 1
      if (slot !== this.tail) {
        this.unlink(slot)
        this.append(slot)
      }
      return
    }
    if (this.count >= this.capacityBlocks) this.remove(this.head)
    const slot = this.allocate()
    this.keys[slot] = key
    this.append(slot)
    this.count++
    let i = this.home(key)
    while (this.table[i] !== 0) i = (i + 1) & this.mask
    this.table[i] = slot + 1
  }

  private allocate(): number {
    if (this.freeHead !== NONE) {
      const slot = this.freeHead
      this.freeHead = this.next[slot]!
      return slot
    }
    if (this.used === this.keys.length) this.grow()
    return this.used++
  }

  /** Doubles the slot arrays (up to the capacity) and rebuilds the table for them. */
  private grow(): void {
    const slots = Math.max(INITIAL_SLOTS, Math.min(this.keys.length * 2, this.capacityBlocks))
    const keys = new Float64Array(slots)
    const prev = new Int32Array(slots)
    const next = new Int32Array(slots)
    keys.set(this.keys)
    prev.set(this.prev)
    next.set(this.next)
    this.keys = keys
    this.prev = prev
    this.next = next
    let bits = 1
    while (1 << bits < slots * 2) bits++
    this.table = new Int32Array(1 << bits)
    this.mask = (1 << bits) - 1
    this.shift = 32 - bits
    for (let slot = this.head; slot !== NONE; slot = this.next[slot]!) {
      let i = this.home(keys[slot]!)
      while (this.table[i] !== 0) i = (i + 1) & this.mask
      this.table[i] = slot + 1
    }
  }

  private append(slot: number): void {
    this.prev[slot] = this.tail
    this.next[slot] = NONE
    if (this.tail === NONE) this.head = slot
    else this.next[this.tail] = slot
    this.tail = slot
  }

  private unlink(slot: number): void {
    const p = this.prev[slot]!
    const n = this.next[slot]!
    if (p === NONE) this.head = n
    else this.next[p] = n
    if (n === NONE) this.tail = p
    else this.prev[n] = p
  }

  /** Drops a slot's key: out of the list, out of the table (backward shift keeps probes unbroken), slot freed. */
  private remove(slot: number): void {
    this.unlink(slot)
    const table = this.table
    const mask = this.mask
    let i = this.find(this.keys[slot]!)
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const k = this.home(this.keys[table[j]! - 1]!)
      // entry j may move back to the hole at i unless its home lies cyclically in (i, j]
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue
      table[i] = table[j]!
      i = j
    }
    table[i] = 0
    this.next[slot] = this.freeHead
    this.freeHead = slot
    this.count--
  }
}

/** The match ratio: leading blocks found over the request's blocks (0 for an empty prompt). */
export const matchRatio = (matched: number, blocks: number): number => (blocks === 0 ? 0 : matched / blocks)
