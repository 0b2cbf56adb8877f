/**
 * The block hash chain of a prompt (routing mode `load`, see packages/core Prefix.ts): xxhash64 of each
 * 64-character block seeded with the previous block's hash, the first seeded by the model name, so
 * equal text for another model shares nothing. Keys are the hash's top 53 bits, a JavaScript number:
 * number keys make the per-endpoint sets' lookups several times cheaper than BigInt keys.
 * The prompt is encoded once as UTF-16 (exactly 2 bytes a character, so a block is 128 bytes whatever the
 * text) and each block is hashed over a view of that buffer: a string slice per block cost its own copy
 * and UTF-8 conversion in the native call, about 1.7x the time. The package has no batch call, so it
 * stays one native call per block.
 */
import { Prefix } from "@llmlb/core"
import { xxh64 } from "@node-rs/xxhash"

const BLOCK_BYTES = Prefix.BLOCK_CHARS * 2

export const chainOf = (text: string, model: string): Array<number> => {
  const n = Prefix.blockCount(text.length)
  const chain = new Array<number>(n)
  if (n === 0) return chain
  const bytes = Buffer.from(text.length > n * Prefix.BLOCK_CHARS ? text.slice(0, n * Prefix.BLOCK_CHARS) : text, "utf16le")
  const { buffer, byteOffset, length } = bytes
  let h = xxh64(model)
  for (let i = 0; i < n; i++) {
    const start = i * BLOCK_BYTES
    h = xxh64(new Uint8Array(buffer, byteOffset + start, Math.min(BLOCK_BYTES, length - start)), h)
    chain[i] = Number(h >> 11n)
  }
  return chain
}
