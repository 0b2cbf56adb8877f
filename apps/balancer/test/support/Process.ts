/**
 * The built balancer (dist/main.js) as a child process, the way operators run it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

export const MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url))

export interface BalancerProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Everything it printed so far (stdout and stderr). */
  readonly output: () => string
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>
}

const collect = (child: ChildProcess) => {
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { output: () => output, exited }
}

/** Runs dist/main.js until it exits by itself; for start-up failures. */
export const runToExit = (env: Record<string, string>) =>
  Effect.promise(async () => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env } })
    const { output, exited } = collect(child)
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    const code = await exited
    clearTimeout(timer)
    return { code, output: output() }
  })

/** Starts dist/main.js on a free port (in `cwd`, else this process's); killed when the scope closes. */
export const spawnBalancer = (env: Record<string, string>, options: { readonly cwd?: string } = {}) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<BalancerProcess>((resolve, reject) => {
        const child = spawn(process.execPath, [MAIN], {
          env: { PATH: process.env.PATH, LB_PORT: "0", LB_HOST: "127.0.0.1", ...env },
          ...options
        })
        const { output, exited } = collect(child)
        // Generous: a cold start on a loaded 2-core machine takes several seconds; the event ends the wait.
        const timer = setTimeout(() => reject(new Error(`no listening line in:\n${output()}`)), 60_000)
        child.stdout!.on("data", () => {
          const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output())
          if (match) {
            clearTimeout(timer)
            resolve({ child, url: `http://127.0.0.1:${match[1]}`, output, exited })
          }
        })
        exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${output()}`)))
      })
    ),
    ({ child, exited }) => Effect.promise(() => (child.exitCode === null ? (child.kill("SIGKILL"), exited) : exited))
  )

/**
 * JSON requests to balancer processes, each carrying this admin token; answers status 0 when the
 * process could not be reached (killed, or not up yet).
 */
export const processCaller = (adminToken: string) =>
(lb: BalancerProcess, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(lb.url + path, {
      method,
      headers: { "x-admin-token": adminToken, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000)
    }).catch(() => undefined)
    if (response === undefined) return { status: 0, headers: new Headers(), body: undefined as any }
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
  })
