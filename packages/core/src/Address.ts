/**
 * IP addresses and ranges (IPv4 and IPv6, CIDR notation), and the client address of a request that
 * may have come through proxies (DESIGN.md "Admin and security"). An address is one bigint: 32 bits
 * for IPv4, 128 for IPv6. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, what a dual-stack socket
 * reports for an IPv4 peer) is the IPv4 address, everywhere: parsed, matched and written as one.
 */

export interface IpAddress {
  readonly version: 4 | 6
  readonly bits: bigint
}

/** An address and the number of leading bits that a matching address must share with it. */
export interface AddressRange extends IpAddress {
  readonly prefix: number
}

const WIDTH = { 4: 32, 6: 128 } as const

const parseIpv4Bits = (text: string): bigint | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let bits = 0n
  for (const part of parts) {
    // Decimal only, no leading zeros: `010` would be octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined
    bits = (bits << 8n) | BigInt(part)
  }
  return bits
}

const parseGroups = (text: string): Array<number> | undefined => {
  if (text === "") return []
  const groups: Array<number> = []
  for (const group of text.split(":")) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined
    groups.push(parseInt(group, 16))
  }
  return groups
}

const parseIpv6Bits = (text: string): bigint | undefined => {
  let rest = text
  // A trailing dotted quad stands for the last two groups.
  const lastColon = rest.lastIndexOf(":")
  let tail: Array<number> = []
  if (rest.includes(".", lastColon)) {
    const v4 = parseIpv4Bits(rest.slice(lastColon + 1))
    if (v4 === undefined) return undefined
    tail = [Number(v4 >> 16n), Number(v4 & 0xffffn)]
    // Keep the colon when it is half of a `::` (as in `::1.2.3.4`), drop it otherwise.
    rest = rest[lastColon - 1] === ":" ? rest.slice(0, lastColon + 1) : rest.slice(0, lastColon)
  }
  const gap = rest.indexOf("::")
  let groups: Array<number>
  if (gap === -1) {
    const all = parseGroups(rest)
    if (all === undefined || all.length + tail.length !== 8) return undefined
    groups = all
  } else {
    if (rest.indexOf("::", gap + 1) !== -1) return undefined
    const head = parseGroups(rest.slice(0, gap))
    const after = parseGroups(rest.slice(gap + 2))
    if (head === undefined || after === undefined) return undefined
    const missing = 8 - head.length - after.length - tail.length
    // `::` stands for at least one group of zeros.
    if (missing < 1) return undefined
    groups = [...head, ...new Array<number>(missing).fill(0), ...after]
  }
  let bits = 0n
  for (const group of [...groups, ...tail]) bits = (bits << 16n) | BigInt(group)
  return bits
}

const fromIpv6 = (bits: bigint): IpAddress =>
  bits >> 32n === 0xffffn ? { version: 4, bits: bits & 0xffffffffn } : { version: 6, bits }

/**
 * An address written as IPv4 dotted decimal or IPv6 (any RFC 4291 form, a zone such as `%eth0`
 * ignored); undefined for anything else.
 */
export const parseAddress = (text: string): IpAddress | undefined => {
  if (text.includes(":")) {
    const zone = text.indexOf("%")
    const bits = parseIpv6Bits(zone === -1 ? text : text.slice(0, zone))
    return bits === undefined ? undefined : fromIpv6(bits)
  }
  const bits = parseIpv4Bits(text)
  return bits === undefined ? undefined : { version: 4, bits }
}

/** The canonical text of an address: dotted decimal, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export const formatAddress = (address: IpAddress): string => {
  const { bits } = address
  if (address.version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 0xffn)).join(".")
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((bits >> shift) & 0xffffn))
  // The longest run of two or more zero groups (the first of equals) becomes `::`.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i]
    i = j
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(":")
  return bestStart === -1 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`
}

/** The canonical text of an address given as text; undefined when it is not one. */
export const normaliseAddress = (text: string): string | undefined => {
  const address = parseAddress(text)
  return address === undefined ? undefined : formatAddress(address)
}

const mask = (version: 4 | 6, prefix: number) => {
  const width = BigInt(WIDTH[version])
  return ((1n << width) - 1n) ^ ((1n << (width - BigInt(prefix))) - 1n)
}

/**
 * An address (a range of one) or a CIDR block such as `10.0.0.0/8` or `fd00::/8`; bits past the
 * prefix are ignored. An IPv4-mapped block (`::ffff:10.0.0.0/104`) is the IPv4 block.
 */
export const parseRange = (text: string): AddressRange | undefined => {
  const slash = text.indexOf("/")
  const address = parseAddress(slash === -1 ? text : text.slice(0, slash))
  if (address === undefined) return undefined
  const width = WIDTH[address.version]
  if (slash === -1) return { ...address, prefix: width }
  const prefixText = text.slice(slash + 1)
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return undefined
  // A mapped address parses as IPv4: its prefix was counted over 128 bits.
  const mapped = address.version === 4 && text.includes(":")
  const prefix = Number(prefixText) - (mapped ? 96 : 0)
  if (prefix < 0 || prefix > width) return undefined
  return { version: address.version, bits: address.bits & mask(address.version, prefix), prefix }
}

export const inRange = (range: AddressRange, address: IpAddress): boolean =>
  range.version === address.version && (address.bits & mask(range.version, range.prefix)) === range.bits

/**
 * One hop of `X-Forwarded-For`: an address, possibly with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`)
 * as some proxies write it.
 */
const parseHop = (hop: string): IpAddress | undefined => {
  const text = hop.trim()
  if (text.startsWith("[")) {
    const end = text.indexOf("]")
    return end === -1 || !/^(:\d+)?$/.test(text.slice(end + 1)) ? undefined : parseAddress(text.slice(1, end))
  }
  const colon = text.indexOf(":")
  if (colon !== -1 && colon === text.lastIndexOf(":") && /^\d+$/.test(text.slice(colon + 1))) {
    return parseAddress(text.slice(0, colon))
  }
  return parseAddress(text)
}

/**
 * The address a request came from: its peer's, or, when the peer is a trusted proxy, the nearest
 * untrusted hop of `X-Forwarded-For` (read from the right, where each proxy appends the address it
 * saw). Hops left of the first untrusted one could have been written by anybody and are never used;
 * when every hop is trusted, the leftmost. A hop that is not an address ends the walk at the last
 * one that was. A peer that is not an address (none, a Unix socket) is returned as it is.
 */
export const clientAddress = (
  peer: string | undefined,
  forwardedFor: string | ReadonlyArray<string> | undefined,
  trusted: ReadonlyArray<AddressRange>
): string | undefined => {
  if (peer === undefined) return undefined
  const address = parseAddress(peer)
  if (address === undefined) return peer
  const isTrusted = (a: IpAddress) => trusted.some((range) => inRange(range, a))
  if (forwardedFor === undefined || trusted.length === 0 || !isTrusted(address)) return formatAddress(address)
  const hops = (typeof forwardedFor === "string" ? forwardedFor : forwardedFor.join(",")).split(",")
  let client = address
  for (let i = hops.length - 1; i >= 0; i--) {
    if (hops[i]!.trim() === "") continue
    const hop = parseHop(hops[i]!)
    if (hop === undefined) break
    client = hop
    if (!isTrusted(hop)) break
  }
  return formatAddress(client)
}

/**
 * What a per-address limit counts a client as: its IPv4 address, or the /64 network of its IPv6
 * address (one host usually gets a whole /64, and could otherwise use a fresh address per request).
 * Text that is not an address counts as itself.
 */
export const limitKey = (address: string): string => {
  const parsed = parseAddress(address)
  if (parsed === undefined || parsed.version === 4) return address
  return `${formatAddress({ version: 6, bits: parsed.bits & mask(6, 64) })}/64`
}
