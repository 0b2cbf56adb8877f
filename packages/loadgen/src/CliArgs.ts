/**
 * The `loadtest` command line: flags to `RunSettings` (the flags' names in snake_case) and the CLI's own
 * options. Pure; a bad argument gives a one-line message naming the flag.
 */
import { Either } from "effect"
import { decodeSettings, type RunSettings } from "./Settings.js"
import { parseThresholds, type Threshold } from "./Thresholds.js"

export interface CliRun {
  readonly kind: "run"
  readonly settings: RunSettings
  readonly json: string | null
  readonly csv: string | null
  readonly quiet: boolean
  readonly failIf: ReadonlyArray<Threshold>
}
export type CliCommand =
  | CliRun
  | { readonly kind: "compare"; readonly a: string; readonly b: string }
  | { readonly kind: "help" }

export const usage = `Usage: loadtest --base-url URL [options]
       loadtest compare A.json B.json

Target     --base-url URL (e.g. http://127.0.0.1:8090/v1)  --api-key KEY  --model NAME (default: first of GET /models)
           --route chat|completions  --stream / --no-stream  --continuous-usage
Prompt     --prompt TEXT (may use {i}, {random_words:N}, {shared:G:N})  --input-tokens N  --input-spread N
           --max-tokens N (128)  --temperature T  --ignore-eos  --extra-body JSON
Load       --concurrency N  --rate R (req/s; Poisson)  --burstiness B (gamma; 1 = Poisson)  --interval (constant gaps)
           --ramp FROM:TO (of the rate, or of the concurrency when only --concurrency is given)
Stop       --requests N  --duration S  --warmup S|Nr (on top)  --max-error-rate F (0..1)  --timeout S (600)
Report     --goodput ttft:MS,tpot:MS,e2el:MS  --fail-if "p99_ttft_ms>500,request_goodput<10"
           --json FILE  --csv FILE  --quiet  --seed N  --workers N
Exit codes 0 done, 1 error-rate stop / failed --fail-if / nothing could be sent, 2 bad arguments, 130 interrupted.
`

const valueFlags = new Set([
  "base-url", "api-key", "model", "route", "prompt", "input-tokens", "input-spread", "max-tokens", "temperature",
  "extra-body", "concurrency", "rate", "burstiness", "ramp", "requests", "duration", "warmup", "max-error-rate",
  "timeout", "goodput", "fail-if", "seed", "workers", "json", "csv"
])
const booleanFlags = new Set(["stream", "no-stream", "continuous-usage", "ignore-eos", "interval", "quiet", "help"])

/** Numeric flags: their value must be a number (the schema then checks the range). */
const numericFlags = new Set([
  "input-tokens", "input-spread", "max-tokens", "temperature", "concurrency", "rate", "burstiness", "requests",
  "max-error-rate", "seed", "workers"
])

class ArgError extends Error {}
const bad = (flag: string, message: string): never => {
  throw new ArgError(`--${flag}: ${message}`)
}

/** Seconds: `30`, `30s`, `2m`, `1h`. */
const seconds = (flag: string, text: string): number => {
  const m = /^([0-9]*\.?[0-9]+)(s|m|h)?$/.exec(text.trim())
  if (m === null) return bad(flag, `expected seconds such as 30, 30s or 2m, got ${JSON.stringify(text)}`)
  return Number(m[1]) * (m[2] === "m" ? 60 : m[2] === "h" ? 3600 : 1)
}

const number = (flag: string, text: string): number => {
  const x = Number(text)
  return text.trim() === "" || !Number.isFinite(x) ? bad(flag, `expected a number, got ${JSON.stringify(text)}`) : x
}

const goodput = (text: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const part of text.split(",")) {
    const m = /^\s*(ttft|tpot|e2el)\s*:\s*([0-9.]+)\s*$/.exec(part)
    if (m === null) return bad("goodput", `expected ttft:MS,tpot:MS,e2el:MS, got ${JSON.stringify(part)}`)
    out[`${m[1]}_ms`] = number("goodput", m[2]!)
  }
  return out
}

export const parseArgs = (argv: ReadonlyArray<string>): CliCommand | { readonly kind: "error"; readonly message: string } => {
  try {
    return parse(argv)
  } catch (error) {
    if (error instanceof ArgError) return { kind: "error", message: error.message }
    throw error
  }
}

const parse = (argv: ReadonlyArray<string>): CliCommand => {
  if (argv[0] === "compare") {
    if (argv.length !== 3) throw new ArgError("compare: expected two report files: loadtest compare A.json B.json")
    return { kind: "compare", a: argv[1]!, b: argv[2]! }
  }
  const values = new Map<string, string>()
  const flags = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) throw new ArgError(`${arg}: unexpected argument (flags start with --; see --help)`)
    const eq = arg.indexOf("=")
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (booleanFlags.has(name)) {
      if (eq !== -1) bad(name, "takes no value")
      flags.add(name)
    } else if (valueFlags.has(name)) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
      if (value === undefined) bad(name, "needs a value")
      values.set(name, value!)
    } else {
      throw new ArgError(`--${name}: unknown flag (see --help)`)
    }
  }
  if (flags.has("help")) return { kind: "help" }
  if (flags.has("stream") && flags.has("no-stream")) bad("stream", "--stream and --no-stream together")

  const encoded: Record<string, unknown> = {}
  for (const [flag, text] of values) {
    const key = flag.replace(/-/g, "_")
    if (numericFlags.has(flag)) encoded[key] = number(flag, text)
    else if (flag === "duration" || flag === "timeout") encoded[key] = seconds(flag, text)
    else if (flag === "ramp") {
      const m = /^\s*([0-9.]+)\s*:\s*([0-9.]+)\s*$/.exec(text)
      if (m === null) bad(flag, `expected FROM:TO such as 1:20, got ${JSON.stringify(text)}`)
      encoded[key] = { from: number(flag, m![1]!), to: number(flag, m![2]!) }
    } else if (flag === "warmup") {
      encoded[key] = /^\s*[0-9]+\s*r\s*$/.test(text) ? { requests: number(flag, text.replace(/r\s*$/, "")) } : { seconds: seconds(flag, text) }
    } else if (flag === "goodput") encoded[key] = goodput(text)
    else if (flag === "extra-body") {
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        bad(flag, "expected a JSON object")
      }
      encoded[key] = body
    } else if (flag !== "json" && flag !== "csv" && flag !== "fail-if") encoded[key] = text
  }
  if (flags.has("no-stream")) encoded["stream"] = false
  if (flags.has("continuous-usage")) encoded["continuous_usage"] = true
  if (flags.has("ignore-eos")) encoded["ignore_eos"] = true
  if (flags.has("interval")) encoded["interval"] = true
  if (encoded["base_url"] === undefined) bad("base-url", "required (e.g. --base-url http://127.0.0.1:8090/v1)")

  const decoded = decodeSettings(encoded)
  if (Either.isLeft(decoded)) {
    const message = decoded.left
    const field = /^([a-z_]+)/.exec(message)?.[1]
    throw new ArgError(field === undefined ? message : `--${field.replace(/_/g, "-")}${message.slice(field.length)}`)
  }
  let failIf: ReadonlyArray<Threshold> = []
  const failText = values.get("fail-if")
  if (failText !== undefined) {
    const parsed = parseThresholds(failText)
    if (typeof parsed === "string") bad("fail-if", parsed)
    failIf = parsed as ReadonlyArray<Threshold>
  }
  return {
    kind: "run",
    settings: decoded.right,
    json: values.get("json") ?? null,
    csv: values.get("csv") ?? null,
    quiet: flags.has("quiet"),
    failIf
  }
}
