/**
 * Child processes of the dev scripts (demo, benchmarks): spawned in their own process group, their output
 * kept (the last lines, for error messages) and scanned line by line, and all stopped together, SIGTERM first,
 * SIGKILL after a grace period. If the script itself exits without stopping them (an uncaught error), an
 * `exit` hook kills whatever is still running, so no child outlives the script.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"

export interface Child {
  readonly name: string
  readonly pid: number
  readonly process: ChildProcess
  /** Resolves with the exit code (null when killed by a signal) once the process has ended. */
  readonly exited: Promise<number | null>
  /** The last lines it wrote (stdout and stderr), for error messages. */
  readonly tail: () => string
  /** Calls `listener` for every further line on stdout or stderr; returns the unsubscribe function. */
  readonly onLine: (listener: (line: string) => void) => () => void
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  /** Called for every line the child writes on stdout or stderr. */
  readonly onLine?: (line: string) => void
}

const TAIL_LINES = 40

export class Children {
  private readonly running = new Set<Child>()

  constructor() {
    process.on("exit", () => {
      for (const child of this.running) signal(child, "SIGKILL")
    })
  }

  spawn(name: string, command: string, args: ReadonlyArray<string>, options: SpawnOptions = {}): Child {
    const proc = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      // Own process group: a Ctrl-C in the terminal reaches the script only, which then stops its children in order.
      detached: true
    })
    if (proc.pid === undefined) throw new Error(`could not start ${name} (${command})`)
    const lines: Array<string> = []
    const listeners = new Set<(line: string) => void>()
    if (options.onLine !== undefined) listeners.add(options.onLine)
    for (const input of [proc.stdout!, proc.stderr!]) {
      createInterface({ input, crlfDelay: Infinity }).on("line", (line) => {
        lines.push(line)
        if (lines.length > TAIL_LINES) lines.shift()
        for (const listener of listeners) listener(line)
      })
    }
    const child: Child = {
      name,
      pid: proc.pid,
      process: proc,
      exited: new Promise((resolve) => {
        proc.once("exit", (code) => resolve(code))
        proc.once("error", (e) => {
          lines.push(String(e))
          resolve(null)
        })
      }),
      tail: () => lines.join("\n"),
      onLine: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      }
    }
    this.running.add(child)
    void child.exited.then(() => this.running.delete(child))
    return child
  }

  /** SIGTERM to every running child, SIGKILL to those still running after `graceMs`. */
  async stopAll(graceMs = 5_000): Promise<void> {
    const children = [...this.running]
    for (const child of children) signal(child, "SIGTERM")
    await Promise.all(children.map(async (child) => {
      const timer = setTimeout(() => signal(child, "SIGKILL"), graceMs)
      await child.exited
      clearTimeout(timer)
    }))
  }
}

const signal = (child: Child, name: NodeJS.Signals): void => {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  try {
    process.kill(-child.pid, name) // the child's process group: the child and anything it started
  } catch {
    // already gone
  }
}

/**
 * Resolves with the first line of `child` that matches `pattern`; rejects if the child exits first or after
 * `timeoutMs`, with the child's last output in the message.
 */
export const waitForLine = (child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> =>
  new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer)
      unsubscribe()
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`${child.name} did not print ${pattern} within ${timeoutMs} ms:\n${child.tail()}`))
    }, timeoutMs)
    const unsubscribe = child.onLine((line) => {
      const match = pattern.exec(line)
      if (match === null) return
      done()
      resolve(match)
    })
    void child.exited.then((code) => {
      done()
      reject(new Error(`${child.name} exited (code ${code}) before printing ${pattern}:\n${child.tail()}`))
    })
  })
