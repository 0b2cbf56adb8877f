/** Printing the benchmarks' figures: lines on stdout, fixed-width rows, numbers formatted one way everywhere. */
import { availableParallelism } from "node:os"

export const out = (line = ""): void => void process.stdout.write(`${line}\n`)

/** `n` with `digits` decimals; "n/a" for NaN and infinities. */
export const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")

/** `n` rounded, with thousands separators. */
export const grouped = (n: number): string => Math.round(n).toLocaleString("en-US")

/** `n` with 2 decimals and its sign (one that rounds to zero is "+0.00"). */
export const signed = (n: number): string => {
  const rounded = Number(fixed(n, 2))
  return Number.isFinite(rounded) ? `${rounded >= 0 ? "+" : ""}${fixed(rounded, 2)}` : "n/a"
}

/** Whether a target was met, as the benchmarks print it. */
export const verdict = (met: boolean): string => (met ? "met" : "MISSED")

/** One row of a table: two spaces of indent, each cell padded to its column's width (0: as it is). */
export const row = (cells: ReadonlyArray<string>, widths: ReadonlyArray<number>): string =>
  ("  " + cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("")).trimEnd()

/** A benchmark's first line: its name and the machine it ran on, then a blank line. */
export const title = (name: string): void => {
  out(`${name}: node ${process.version}, ${availableParallelism()} cores, all processes on 127.0.0.1`)
  out()
}
