/**
 * Which pre-compressed sibling a client takes, from its `Accept-Encoding` (RFC 9110 12.5.3): brotli
 * before gzip, as it is smaller; an encoding with `q=0` is refused, `*` stands for those not named.
 */
export type Encoding = "br" | "gzip"

/** The weight the header gives each coding (`*` included); absent ones are not listed. */
const weights = (header: string): Map<string, number> => {
  const result = new Map<string, number>()
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";")
    if (name === undefined || name === "") continue
    let q = 1
    for (const param of params) {
      const [key, value] = param.trim().split("=")
      if (key === "q" && value !== undefined) q = Number(value)
    }
    result.set(name, Number.isFinite(q) ? q : 0)
  }
  return result
}

/** The encodings the client accepts, best first. */
export const acceptedEncodings = (header: string | undefined): ReadonlyArray<Encoding> => {
  if (header === undefined || header === "") return []
  const given = weights(header)
  const wildcard = given.get("*")
  const accepts = (name: Encoding) => (given.get(name) ?? (name === "gzip" ? given.get("x-gzip") : undefined) ?? wildcard ?? 0) > 0
  return (["br", "gzip"] as const).filter(accepts)
}
