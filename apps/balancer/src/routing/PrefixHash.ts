/**
 * The block hash chain of a prompt (routing mode `load`, see packages/core Prefix.ts): xxhash64 of each
 * 64-character block seeded with the previous block's hash, the first seeded by the model name, so
 * equal text for another model shares nothing. Keys are the hash's top 53 bits, a JavaScript number:
 * number keys make the per-endpoint sets' lookups several times cheaper than BigInt keys.
 */
import { Prefix } from "@llmlb/core"
import { xxh64 } from "@node-rs/xxhash"

export const chainOf = (text: string, model: string): Array<number> => {
  const n = Prefix.blockCount(text.length)
  const chain = new Array<number>(n)
  let h = xxh64(model)
  for (let i = 0; i < n; i++) {
    h = xxh64(text.slice(i * Prefix.BLOCK_CHARS, (i + 1) * Prefix.BLOCK_CHARS), h)
    chain[i] = Number(h >> 11n)
  }
  return chain
}
