/**
 * A runtime stage rehearsed without an engine: the build stage's own `node docker/deploy.mjs <target> <dir>` into
 * a temp directory, then the stage's CMD started with plain node as uid 1000 (as `USER node`), with the stage's
 * ENV and nothing else: no PATH entries, node_modules or files beyond that directory and a data directory.
 */
import type { ImageTemplate } from "dockerfile-ast"
import { Effect } from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { dockerfile, instructions, ROOT, stageEnv } from "./Repo.js"

/** The unprivileged user of the node images (`USER node`). */
export const NODE_UID = 1000

/** Root drops to uid 1000 (and no groups) for the process; an unprivileged test runner already is one. */
const asNodeUser = (argv: ReadonlyArray<string>): ReadonlyArray<string> =>
  process.getuid?.() === 0
    ? ["/usr/bin/setpriv", `--reuid=${NODE_UID}`, `--regid=${NODE_UID}`, "--clear-groups", ...argv]
    : argv

/** The node images' PATH; nothing else of the test runner's environment reaches the process. */
const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

export const freePort = () =>
  Effect.promise(() =>
    new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
  )

export interface Deployment {
  /** The directory the runtime stage's COPY fills (/app in the image). */
  readonly app: string
  /** The volume (/data in the image), owned by uid 1000 as the image's `chown node:node /data` leaves it. */
  readonly data: string
  readonly stage: ImageTemplate
  /** The stage's ENV. */
  readonly env: Readonly<Record<string, string>>
}

/** Runs the build stage's deploy command for `target` into a fresh temp directory, removed when the scope closes. */
export const deploy = (file: string, target: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const { stages } = dockerfile(file)
      const build = instructions(stages.get("build")!, "RUN").join("\n")
      const command = new RegExp(`node (docker/deploy\\.mjs) ${target} (\\S+)`).exec(build)
      if (command === null) throw new Error(`${file}: no deploy command for ${target}`)
      const base = mkdtempSync(join(tmpdir(), `llmlb-${target}-`))
      const app = join(base, "app")
      try {
        execFileSync(process.execPath, [command[1]!, target, app], { cwd: ROOT, stdio: "pipe" })
      } catch (e) {
        rmSync(base, { recursive: true, force: true })
        throw new Error(`docker/deploy.mjs ${target} failed: ${String((e as { stderr?: unknown }).stderr ?? e)}`)
      }
      const data = join(base, "data")
      mkdirSync(data)
      chmodSync(base, 0o755)
      if (process.getuid?.() === 0) chownSync(data, NODE_UID, NODE_UID)
      const stage = stages.get(target)!
      return { base, app, data, stage, env: stageEnv(stage) }
    }),
    ({ base }) => Effect.sync(() => rmSync(base, { recursive: true, force: true }))
  ).pipe(Effect.map(({ base: _, ...deployment }): Deployment => deployment))

/** The stage's ENV with the image's /app and /data moved to the deployment's directories, then `overrides`. */
export const envIn = (d: Deployment, overrides: Readonly<Record<string, string>>): Record<string, string> => ({
  ...Object.fromEntries(Object.entries(d.env).map(([name, value]) => [
    name,
    value.replace(/^\/app(?=\/|$)/, d.app).replace(/^\/data(?=\/|$)/, d.data)
  ])),
  ...overrides
})

export interface Started {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

/** Starts `node <args>` in the deployment as uid 1000 with exactly `env`; killed when the scope closes. */
export const startAsNode = (app: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>>) =>
  Effect.acquireRelease(
    Effect.sync((): Started => {
      const [command, ...rest] = asNodeUser([process.execPath, ...args])
      const child = spawn(command!, rest, { cwd: app, env: { PATH: IMAGE_PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] })
      let output = ""
      child.stdout!.on("data", (d) => (output += d))
      child.stderr!.on("data", (d) => (output += d))
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      return { child, output: () => output, exited }
    }),
    ({ child, exited }) => Effect.promise(() => (child.exitCode === null && child.signalCode === null ? (child.kill("SIGKILL"), exited) : exited))
  )

/** Runs `node <args>` in the deployment as uid 1000 to its end: the exit code and what it printed. */
export const runAsNode = (app: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>>) =>
  Effect.scoped(Effect.gen(function*() {
    const started = yield* startAsNode(app, args, env)
    const timer = setTimeout(() => started.child.kill("SIGKILL"), 30_000)
    const code = yield* Effect.promise(() => started.exited)
    clearTimeout(timer)
    return { code, output: started.output() }
  }))

/** Polls `url` until it answers 200; fails with the process's output after `timeoutMs`. */
export const waitFor200 = (url: string, started: Started, timeoutMs = 45_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status, () => 0)
      if (status === 200) return
      if (started.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${url} never answered 200 (last ${status}); output:\n${started.output()}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })
