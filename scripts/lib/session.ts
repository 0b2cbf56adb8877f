/**
 * The life of a dev script that starts processes: its children, a temp directory, and one way out. `stop`
 * stops the children (SIGTERM, then SIGKILL), removes the temp directory and exits (the first call's code
 * wins); SIGINT and SIGTERM lead there too, with the exit code `onSignal` returns.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Children } from "./children.js"

export interface Session {
  readonly children: Children
  readonly tempDir: string
  /** True once `stop` has begun: exits seen after it are the expected ones. */
  readonly stopping: () => boolean
  readonly stop: (code: number) => Promise<never>
}

export const startSession = (name: string, onSignal: (signal: NodeJS.Signals) => number): Session => {
  const children = new Children()
  const tempDir = mkdtempSync(join(tmpdir(), `llmlb-${name}-`))
  let stopped: Promise<never> | undefined
  const stop = (code: number): Promise<never> =>
    stopped ??= children.stopAll().then(() => {
      rmSync(tempDir, { recursive: true, force: true })
      return process.exit(code)
    })
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopped === undefined) void stop(onSignal(signal))
    })
  }
  return { children, tempDir, stopping: () => stopped !== undefined, stop }
}

/**
 * Runs a script that prints figures (a benchmark) in a session: its failure is printed (unless a signal stopped
 * it: then the failure is the expected result of stopping its children), and either way the session ends, with
 * exit code 0 or 1 (130 after a signal).
 */
export const runInSession = (name: string, main: (session: Session) => Promise<void>): void => {
  const session = startSession(name, () => 130)
  void main(session).then(
    () => session.stop(0),
    (e: unknown) => {
      if (!session.stopping()) process.stderr.write(`${name}: ${e instanceof Error ? e.message : String(e)}\n`)
      return session.stop(1)
    }
  )
}
