/**
 * X-Request-ID: the client's when it is a sane header value, else a random (version 4) UUID made here.
 * `crypto.randomUUID` builds its string from some twenty pieces, which shows in the allocation of every
 * proxied request; this writes the 36 characters into a buffer and makes one string of them, from random
 * bytes drawn from the CSPRNG in batches as randomUUID draws them.
 */
import { randomFillSync } from "node:crypto"

/** UUIDs per draw of random bytes. */
const BATCH = 128
const HEX = Buffer.from("0123456789abcdef", "latin1")
const DASH = 0x2d

export class RequestIds {
  private readonly random = Buffer.allocUnsafe(16 * BATCH)
  private used = this.random.length
  private readonly text = Buffer.allocUnsafe(36)

  /** A random UUID, version 4 and variant 1 (RFC 9562), lower case. */
  uuid(): string {
    if (this.used === this.random.length) {
      randomFillSync(this.random)
      this.used = 0
    }
    const random = this.random
    const text = this.text
    const start = this.used
    this.used += 16
    let at = 0
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text[at++] = DASH
      let byte = random[start + i]!
      if (i === 6) byte = (byte & 0x0f) | 0x40 // version 4
      else if (i === 8) byte = (byte & 0x3f) | 0x80 // variant 1
      text[at++] = HEX[byte >> 4]!
      text[at++] = HEX[byte & 0x0f]!
    }
    return text.toString("latin1", 0, 36)
  }

  /** A client's X-Request-ID is kept when it is a sane header value, else replaced. */
  of(given: string | Array<string> | undefined): string {
    return typeof given === "string" && given.length <= 200 && /^[\x21-\x7e]+$/.test(given) ? given : this.uuid()
  }
}
