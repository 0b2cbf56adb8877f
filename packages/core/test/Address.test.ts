import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { BlockList, isIP } from "node:net"
import { clientAddress, formatAddress, inRange, limitKey, normaliseAddress, parseAddress, parseRange } from "../src/Address.js"

const ranges = (...texts: Array<string>) => texts.map((text) => parseRange(text)!)
const TRUSTED = ranges("10.0.0.0/8", "fd00::/8")

const trustedV4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`)
const trustedV6 = fc.bigInt({ min: 0n, max: (1n << 120n) - 1n }).map((bits) => formatAddress({ version: 6, bits: (0xfdn << 120n) | bits }))
const trustedHop = fc.oneof(trustedV4, trustedV6, trustedV4.map((ip) => `::ffff:${ip}`))
const untrustedHop = fc.oneof(fc.ipV4(), fc.ipV6())
  .filter((ip) => !TRUSTED.some((range) => inRange(range, parseAddress(ip)!)))
/** Whatever a client may write into X-Forwarded-For itself. */
const forged = fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), trustedV4), { maxLength: 4 })

const canonicalIpv6 = (text: string) => new URL(`http://[${text}]/`).hostname.slice(1, -1)

describe("addresses", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:7f00:1", "127.0.0.1"],
    ["0:0:0:0:0:ffff:a00:1", "10.0.0.1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0001:0000:0000:0000:0000", "2001:db8:0:1::"],
    ["::", "::"],
    ["::1", "::1"],
    ["::1.2.3.4", "::102:304"],
    ["fe80::1%eth0", "fe80::1"]
  ])("normalises %s to %s", (text, expected) => {
    expect(normaliseAddress(text)).toBe(expected)
  })

  it.each(["", " 1.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.256", "01.2.3.4", "1.2.3.4:80", "[::1]", "::1::", ":::1", "12345::", "g::1",
    "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "1.2.3.4::", "localhost", "unknown"])("refuses %j", (text) => {
    expect(parseAddress(text)).toBeUndefined()
  })

  it.prop("writes every IPv4 address as it was given", [fc.ipV4()], ([ip]) => {
    expect(normaliseAddress(ip)).toBe(ip)
  })

  it.prop("writes IPv6 addresses the way URLs do (RFC 5952), and mapped ones as IPv4", [fc.ipV6()], ([ip]) => {
    const address = parseAddress(ip)!
    expect(address).toBeDefined()
    if (address.version === 4) expect(canonicalIpv6(ip)).toMatch(/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/)
    else expect(formatAddress(address)).toBe(canonicalIpv6(ip))
  })

  it.prop("reads back what it writes", [fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.nat(0xffffffff)], ([v6, v4]) => {
    for (const address of [{ version: 6 as const, bits: v6 }, { version: 4 as const, bits: BigInt(v4) }]) {
      const parsed = parseAddress(formatAddress(address))!
      expect(formatAddress(parsed)).toBe(formatAddress(address))
    }
  })

  it.prop(
    "accepts the same addresses as node:net",
    [fc.stringOf(fc.constantFrom(..."0123456789abcdef:.f"), { maxLength: 24 })],
    ([text]) => {
      expect(parseAddress(text) !== undefined).toBe(isIP(text) !== 0)
    }
  )
})

describe("ranges", () => {
  it("reads addresses and CIDR blocks, ignoring host bits", () => {
    expect(parseRange("10.1.2.3/8")).toEqual({ version: 4, bits: 10n << 24n, prefix: 8 })
    expect(parseRange("192.168.0.1")).toEqual({ version: 4, bits: parseAddress("192.168.0.1")!.bits, prefix: 32 })
    expect(parseRange("::ffff:10.0.0.0/104")).toEqual(parseRange("10.0.0.0/8"))
    expect(parseRange("fd00::/8")).toEqual({ version: 6, bits: 0xfdn << 120n, prefix: 8 })
    expect(parseRange("0.0.0.0/0")).toEqual({ version: 4, bits: 0n, prefix: 0 })
    for (const text of ["10.0.0.0/33", "::/129", "1.2.3.4/", "1.2.3.4/08", "nope/8", "::ffff:10.0.0.0/64"]) {
      expect(parseRange(text)).toBeUndefined()
    }
  })

  it.prop(
    "match exactly what node:net's BlockList matches",
    [fc.boolean(), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.nat(128), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.boolean()],
    ([v6, base, prefixSeed, other, near]) => {
      const version = v6 ? 6 as const : 4 as const
      const width = v6 ? 128 : 32
      const prefix = prefixSeed % (width + 1)
      const hostBits = (1n << BigInt(width - prefix)) - 1n
      const baseBits = base & ((1n << BigInt(width)) - 1n)
      // Half the time an address inside the block but for its host bits, so that matches are common.
      const bits = near ? (baseBits & ~hostBits) | (other & hostBits) : other & ((1n << BigInt(width)) - 1n)
      const [baseText, text] = [formatAddress({ version, bits: baseBits }), formatAddress({ version, bits })]
      const range = parseRange(`${baseText}/${prefix}`)!
      const address = parseAddress(text)!
      // Mapped IPv6 addresses are IPv4 here, and the two families never match each other.
      fc.pre(range.version === version && address.version === version)
      const list = new BlockList()
      list.addSubnet(baseText, prefix, v6 ? "ipv6" : "ipv4")
      expect(inRange(range, address)).toBe(list.check(text, v6 ? "ipv6" : "ipv4"))
    }
  )
})

describe("client address", () => {
  it("is the peer's without trusted proxies, whatever X-Forwarded-For says", () => {
    expect(clientAddress("::ffff:127.0.0.1", "6.6.6.6", [])).toBe("127.0.0.1")
  })

  it("is the nearest untrusted hop behind trusted proxies", () => {
    expect(clientAddress("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", TRUSTED)).toBe("1.2.3.4")
    expect(clientAddress("10.0.0.1", ["6.6.6.6", "1.2.3.4:5678"], TRUSTED)).toBe("1.2.3.4")
    expect(clientAddress("10.0.0.1", "[2001:DB8::7]:443", TRUSTED)).toBe("2001:db8::7")
    expect(clientAddress("10.0.0.1", "10.0.0.3, 10.0.0.2", TRUSTED)).toBe("10.0.0.3")
    expect(clientAddress("10.0.0.1", "1.2.3.4, junk, 10.0.0.2", TRUSTED)).toBe("10.0.0.2")
    expect(clientAddress("10.0.0.1", "1.2.3.4, ,", TRUSTED)).toBe("1.2.3.4")
    expect(clientAddress("10.0.0.1", undefined, TRUSTED)).toBe("10.0.0.1")
    expect(clientAddress(undefined, "1.2.3.4", TRUSTED)).toBeUndefined()
  })

  it.prop("ignores X-Forwarded-For from an untrusted peer", [untrustedHop, fc.array(untrustedHop)], ([peer, hops]) => {
    expect(clientAddress(peer, hops.join(", "), TRUSTED)).toBe(normaliseAddress(peer))
  })

  it.prop(
    "cannot be forged by the client: hops left of the first untrusted one never count",
    [forged, untrustedHop, fc.array(trustedHop, { maxLength: 3 }), trustedHop],
    ([written, client, proxies, peer]) => {
      const header = [...written, client, ...proxies].join(", ")
      expect(clientAddress(peer, header, TRUSTED)).toBe(normaliseAddress(client))
    }
  )

  it.prop("is the leftmost hop when every hop is trusted", [fc.array(trustedHop, { minLength: 1 }), trustedV6], ([hops, peer]) => {
    expect(clientAddress(peer, hops.join(","), TRUSTED)).toBe(normaliseAddress(hops[0]!))
  })
})

describe("limit keys", () => {
  it("are IPv4 addresses, and the /64 network of IPv6 ones", () => {
    expect(limitKey("1.2.3.4")).toBe("1.2.3.4")
    expect(limitKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64")
    expect(limitKey("2001:db8:1:2:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64")
    expect(limitKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64")
    expect(limitKey("not an address")).toBe("not an address")
  })
})
