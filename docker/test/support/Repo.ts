/**
 * The deployment files as data: the compose file (YAML merge keys applied, `${VAR}` interpolated with the values
 * of .env.example, as `cp .env.example .env` leaves them), the Dockerfiles' stages (dockerfile-ast), and the
 * environment variables each app really reads, taken from its sources rather than from a list kept here.
 */
import { DockerfileParser, type ImageTemplate } from "dockerfile-ast"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url))

export const read = (path: string) => readFileSync(join(ROOT, path), "utf8")

/** `.env`-style lines: `NAME=value` are set, `# NAME=value` are documented defaults left commented. */
export const envFile = (path: string) => {
  const set = new Map<string, string>()
  const commented = new Set<string>()
  for (const line of read(path).split("\n")) {
    const active = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (active) set.set(active[1]!, active[2]!)
    const documented = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line)
    if (documented) commented.add(documented[1]!)
  }
  return { set, commented, all: new Set([...set.keys(), ...commented]) }
}

const INTERPOLATION = /\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}/g

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`, with the given variables. */
export const interpolate = (text: string, vars: ReadonlyMap<string, string>): string =>
  text.replace(INTERPOLATION, (_, name: string, op: string | undefined, arg: string | undefined) => {
    const value = vars.get(name)
    const empty = value === undefined || (op?.startsWith(":") === true && value === "")
    if (!empty) return value!
    if (op?.endsWith("?")) throw new Error(`compose would refuse to start: ${name} unset (${arg})`)
    return op?.endsWith("-") ? arg ?? "" : ""
  })

/** Every variable name the compose file interpolates. */
export const interpolatedNames = (text: string) => new Set([...text.matchAll(INTERPOLATION)].map(([, name]) => name!))

const mapStrings = (value: unknown, f: (s: string) => string): unknown =>
  typeof value === "string"
    ? f(value)
    : Array.isArray(value)
    ? value.map((v) => mapStrings(v, f))
    : value !== null && typeof value === "object"
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]))
    : value

export interface ComposeService {
  readonly [key: string]: any
}

/** docker-compose.yml as compose sees it after `cp .env.example .env`. */
export const compose = (vars: ReadonlyMap<string, string> = envFile(".env.example").set) => {
  const raw = parse(read("docker-compose.yml"), { merge: true })
  return mapStrings(raw, (s) => interpolate(s, vars)) as {
    readonly services: Record<string, ComposeService>
    readonly networks: Record<string, any>
    readonly volumes: Record<string, unknown>
  }
}

/** A service's environment as a map (compose allows a list of NAME=value too). */
export const serviceEnv = (service: ComposeService): Record<string, string | null> => {
  const env = service["environment"] ?? {}
  if (!Array.isArray(env)) return env
  return Object.fromEntries(env.map((entry: string) => {
    const [name, ...value] = entry.split("=")
    return [name!, value.length === 0 ? null : value.join("=")]
  }))
}

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

/** The environment variables an app's sources name in quotes (`Config.string("LB_PORT")`, `process.env["X"]`). */
export const envNamesReadBy = (srcDir: string, prefix: RegExp) => {
  const names = new Set<string>()
  for (const file of filesUnder(join(ROOT, srcDir)).filter((f) => f.endsWith(".ts"))) {
    for (const [, name] of readFileSync(file, "utf8").matchAll(/["'`]([A-Z][A-Z0-9_]*)["'`]/g)) {
      if (prefix.test(name!)) names.add(name!)
    }
  }
  return names
}

export interface Dockerfile {
  /** The ARG defaults declared before the first FROM (the pinned base image). */
  readonly globalArgs: ReadonlyMap<string, string>
  readonly stages: ReadonlyMap<string, ImageTemplate>
  /** FROM images with the global ARGs substituted. */
  readonly bases: ReadonlyArray<string>
}

export const dockerfile = (path: string): Dockerfile => {
  const df = DockerfileParser.parse(read(path))
  const globalArgs = new Map(
    df.getInitialARGs().flatMap((arg) => {
      const property = arg.getProperty()
      return property === null ? [] : [[property.getName(), property.getValue() ?? ""] as const]
    })
  )
  const stages = new Map<string, ImageTemplate>()
  const bases: Array<string> = []
  for (const from of df.getFROMs()) {
    const stage = df.getContainingImage(from.getRange().start)
    if (stage === null) throw new Error(`${path}: no stage at line ${from.getRange().start.line + 1}`)
    stages.set(from.getBuildStage() ?? `#${stages.size}`, stage)
    bases.push((from.getImage() ?? "").replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (_, name: string) => globalArgs.get(name) ?? ""))
  }
  return { globalArgs, stages, bases }
}

/** A stage's ENV as a map. */
export const stageEnv = (stage: ImageTemplate): Record<string, string> =>
  Object.fromEntries(stage.getENVs().flatMap((env) => env.getProperties().map((p) => [p.getName(), p.getValue() ?? ""])))

/** The instructions of a stage with a keyword, their argument text. */
export const instructions = (stage: ImageTemplate, keyword: string) =>
  stage.getInstructions().filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? "")

/** The exec-form command of a stage's HEALTHCHECK (`HEALTHCHECK [flags] CMD ["node", ...]`). */
export const healthcheckCommand = (stage: ImageTemplate): ReadonlyArray<string> => {
  const [healthcheck] = stage.getHEALTHCHECKs()
  if (healthcheck === undefined) throw new Error("no HEALTHCHECK")
  const content = healthcheck.getArgumentsContent() ?? ""
  const json = content.slice(content.indexOf("CMD") + 3).trim()
  return JSON.parse(json) as Array<string>
}

/** The balancer's default LB_DRAIN_TIMEOUT_SECONDS, as its Config.ts declares it. */
export const drainTimeoutDefault = () => {
  const match = /"LB_DRAIN_TIMEOUT_SECONDS",\s*(\d+)/.exec(read("apps/balancer/src/Config.ts"))
  if (match === null) throw new Error("apps/balancer/src/Config.ts declares no LB_DRAIN_TIMEOUT_SECONDS default")
  return Number(match[1])
}
