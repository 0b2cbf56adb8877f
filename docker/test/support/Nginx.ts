/**
 * docker/nginx's configs for tests: read as a tree of directives, and rewritten to run here, unprivileged or as
 * root, without touching /etc/nginx: the shared common.conf written in place of its include, the compose upstream
 * names become loopback addresses, the listen port a free one, and everything nginx writes (pid, temp files) goes
 * to a temp directory.
 */
import { Effect } from "effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { read } from "./Repo.js"

export interface Directive {
  readonly name: string
  readonly args: ReadonlyArray<string>
  readonly block?: ReadonlyArray<Directive>
}

const tokens = (text: string) =>
  [...text.replace(/#[^\n]*/g, "").matchAll(/"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};"]+)/g)].map(([, quoted, punct, word]) =>
    quoted !== undefined ? { word: quoted } : punct !== undefined ? { punct } : { word: word! }
  )

/** nginx's configuration syntax: `name args;` and `name args { ... }`, comments dropped. */
export const parseNginx = (text: string): ReadonlyArray<Directive> => {
  const list = tokens(text)
  let i = 0
  const block = (): Array<Directive> => {
    const out: Array<Directive> = []
    while (i < list.length) {
      const first = list[i++]!
      if (first.punct === "}") return out
      const args: Array<string> = []
      const name = first.word!
      for (;;) {
        const t = list[i++]
        if (t === undefined) throw new Error(`unterminated directive ${name}`)
        if (t.punct === ";") {
          out.push({ name, args })
          break
        }
        if (t.punct === "{") {
          out.push({ name, args, block: block() })
          break
        }
        args.push(t.word!)
      }
    }
    return out
  }
  return block()
}

export const find = (directives: ReadonlyArray<Directive>, name: string, ...args: ReadonlyArray<string>) =>
  directives.filter((d) => d.name === name && args.every((a, k) => d.args[k] === a))

const COMMON_MOUNT = "/etc/nginx/llmlb-common.conf"
const COMMON_INCLUDE = /include \/etc\/nginx\/llmlb-common\.conf;/

/** A config file of docker/nginx with the shared settings it includes (common.conf) written in its place. */
export const expandedConfig = (file: string) => {
  const text = read(file)
  if (!COMMON_INCLUDE.test(text)) throw new Error(`${file} does not include ${COMMON_MOUNT}`)
  return text.replace(COMMON_INCLUDE, () => read("docker/nginx/common.conf"))
}

/** Upstream servers as compose names them (`load-balancer:8090`) -> the address they run at here. */
export type Upstreams = Readonly<Record<string, string>>

/** Rewrites a config to run here; throws when a piece it must rewrite is missing. */
export const localConfig = (
  options: { readonly file: string; readonly dir: string; readonly listen: number; readonly upstreams: Upstreams }
) => {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  const replacements: ReadonlyArray<readonly [RegExp, string]> = [
    ...Object.entries(options.upstreams).map(([name, address]) =>
      [new RegExp(`(?<=server )${escape(name)}(?=[ ;])`, "g"), address] as const
    ),
    [/listen 8080;/, `listen 127.0.0.1:${options.listen};`],
    [/(?<=\s)\/tmp\//g, `${options.dir}/`],
    [/\/var\/log\/nginx\//g, `${options.dir}/`]
  ]
  return replacements.reduce((text, [pattern, replacement]) => {
    if (!pattern.test(text)) throw new Error(`${options.file} has no ${pattern}`)
    pattern.lastIndex = 0
    return text.replace(pattern, replacement)
  }, expandedConfig(options.file))
}

const tempConfig = (file: string, listen: number, upstreams: Upstreams) => {
  const dir = mkdtempSync(join(tmpdir(), "llmlb-nginx-"))
  chmodSync(dir, 0o755)
  const conf = join(dir, "nginx.conf")
  writeFileSync(conf, localConfig({ file, dir, listen, upstreams }))
  // -e: the error log before the config's own is read; -p: the prefix for anything relative.
  return { dir, args: ["-e", join(dir, "error.log"), "-p", `${dir}/`, "-c", conf] }
}

/** `nginx -t` on the rewritten config, every upstream server on 127.0.0.1. */
export const nginxTest = (file: string, upstreams: ReadonlyArray<string>) => {
  const local = Object.fromEntries(upstreams.map((name, i) => [name, `127.0.0.1:${8090 + i}`]))
  const { dir, args } = tempConfig(file, 8080, local)
  try {
    return spawnSync("nginx", ["-t", ...args], { encoding: "utf8" })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** nginx in the foreground with the rewritten config; stopped when the scope closes. */
export const startNginx = (file: string, listen: number, upstreams: Upstreams) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const { dir, args } = tempConfig(file, listen, upstreams)
      const child: ChildProcess = spawn("nginx", [...args, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] })
      let errors = ""
      child.stderr!.on("data", (d) => (errors += d))
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
      return { dir, child, errors: () => errors, exited }
    }),
    ({ dir, child, exited }) =>
      Effect.promise(() => (child.exitCode === null ? (child.kill("SIGTERM"), exited) : exited)).pipe(
        Effect.andThen(() => rmSync(dir, { recursive: true, force: true }))
      )
  )
