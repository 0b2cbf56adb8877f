/**
 * `--fail-if "p99_ttft_ms>500,request_goodput<10"`: conditions on the report's numeric figures, as k6's
 * thresholds; the run fails (exit 1) when any of them holds.
 */
import type { Report } from "./Report.js"

export interface Threshold {
  readonly figure: string
  readonly op: "<" | "<=" | ">" | ">=" | "=="
  readonly value: number
}

const pattern = /^\s*([a-z0-9_]+)\s*(<=|>=|==|<|>)\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*$/i

/** Parses the list; the error names the bad condition. */
export const parseThresholds = (text: string): ReadonlyArray<Threshold> | string => {
  const out: Array<Threshold> = []
  for (const part of text.split(",")) {
    if (part.trim() === "") continue
    const m = pattern.exec(part)
    if (m === null || !Number.isFinite(Number(m[3]))) return `bad condition ${JSON.stringify(part.trim())} (e.g. p99_ttft_ms>500)`
    out.push({ figure: m[1]!, op: m[2] as Threshold["op"], value: Number(m[3]) })
  }
  return out.length > 0 ? out : "no condition given"
}

const holds = (x: number, t: Threshold): boolean => {
  switch (t.op) {
    case "<":
      return x < t.value
    case "<=":
      return x <= t.value
    case ">":
      return x > t.value
    case ">=":
      return x >= t.value
    case "==":
      return x === t.value
  }
}

/** The conditions that hold on `report`, as text; a figure the report lacks (or null) counts as holding. */
export const failedThresholds = (report: Report, thresholds: ReadonlyArray<Threshold>): ReadonlyArray<string> =>
  thresholds.flatMap((t) => {
    const x = (report as unknown as Record<string, unknown>)[t.figure]
    if (typeof x !== "number") return [`${t.figure}${t.op}${t.value} (${t.figure} is not in the report)`]
    return holds(x, t) ? [`${t.figure}${t.op}${t.value} (${t.figure} = ${Number.isInteger(x) ? x : x.toFixed(2)})`] : []
  })

/** Whether a figure name is a numeric field of reports (checked before the run, to fail fast on typos). */
export const isNumericFigure = (sample: Report, figure: string): boolean =>
  typeof (sample as unknown as Record<string, unknown>)[figure] === "number" || figure === "request_goodput"
