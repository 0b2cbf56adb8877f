/**
 * Support for the producer page's browser tests: the built producer (apps/producer/dist/main.js, serving the
 * built page apps/web/dist/producer) as its own process on a free port, simulators, a patient poll.
 */
import { startSim } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { expect } from "vitest"

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url))
const MAIN = join(ROOT, "apps/producer/dist/main.js")
const PAGE = join(ROOT, "apps/web/dist/producer/index.html")

export const sim = (options: Parameters<typeof startSim>[0]) =>
  Effect.acquireRelease(Effect.promise(() => startSim(options)), (s) => Effect.promise(() => s.close()))

/** The built producer on a free port; stopped (SIGTERM) with the scope. */
export const producerProcess = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ url: string; stop: () => Promise<void> }>((resolve, reject) => {
        if (!existsSync(MAIN) || !existsSync(PAGE)) reject(new Error("build first: corepack pnpm build"))
        const child = spawn(process.execPath, [MAIN], {
          env: { ...process.env, LP_PORT: "0", LP_HOST: "127.0.0.1", LP_DB_PATH: join(mkdtempSync(join(tmpdir(), "lp-e2e-")), "lp.db"), ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        const onData = (data: Buffer) => {
          output += String(data)
          const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output)
          if (match !== null) {
            resolve({
              url: match[1]!,
              stop: () =>
                new Promise((done) => {
                  child.once("exit", () => done())
                  child.kill("SIGTERM")
                })
            })
          }
        }
        child.stdout.on("data", onData)
        child.stderr.on("data", onData)
        child.once("exit", (code) => reject(new Error(`the producer exited (${code}):\n${output}`)))
      })
    ),
    (p) => Effect.promise(() => p.stop())
  )

/** expect.poll with room for a loaded machine (its default is 1 s). */
export const poll = <A>(f: () => A | Promise<A>) => expect.poll(f, { timeout: 15_000 })

