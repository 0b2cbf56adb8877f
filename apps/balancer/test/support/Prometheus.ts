/**
 * Reads a Prometheus text exposition: the value of a sample by name and (a subset of) its labels.
 */
export interface Scrape {
  readonly text: string
  /** The value of the one sample with this name whose labels include the given ones. */
  readonly value: (name: string, labels?: Record<string, string>) => number | undefined
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export const parseScrape = (text: string): Scrape => {
  const samples = text.split("\n").flatMap((line) => {
    const match = LINE.exec(line)
    if (match === null) return []
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? "").matchAll(LABEL)) labels[key!] = value!
    return [{ name: match[1]!, labels, value: Number(match[3]) }]
  })
  return {
    text,
    value: (name, labels = {}) => {
      const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      if (found.length > 1) throw new Error(`${found.length} samples match ${name} ${JSON.stringify(labels)}`)
      return found[0]?.value
    }
  }
}
