/**
 * Real PostgreSQL and Redis for tests: each started from Debian's binaries on a free port in a temp
 * folder (never the system services) and stopped by the caller. We run as root and PostgreSQL refuses
 * to, so its cluster belongs to `nobody` and its commands run through setpriv.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../../../../scripts/lib/stack.js"

const PG_BIN = "/usr/lib/postgresql/15/bin"
const NOBODY = 65534
const NOGROUP = 65534

// one free-port helper for the scripts and the tests
export { freePort }

const asNobody = (command: string, args: ReadonlyArray<string>) =>
  execFileSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOGROUP}`, "--clear-groups", command, ...args], {
    stdio: "pipe",
    timeout: 60_000
  })

export interface Postgres {
  readonly port: number
  /** A connection URL to the given database (default `postgres`). */
  readonly url: (database?: string) => string
  /** A fresh, empty database; answers its URL. */
  readonly createDatabase: () => string
  readonly psql: (sql: string, database?: string) => string
  readonly stop: () => void
  /** Stops and starts the same cluster on the same port (to test reconnects). */
  readonly restart: (pausedMs?: number) => Promise<void>
  readonly pgStop: () => void
  readonly pgStart: () => void
}

let databases = 0

export const startPostgres = async (): Promise<Postgres> => {
  const root = mkdtempSync(join(tmpdir(), "lb-pg-"))
  chmodSync(root, 0o755)
  const data = join(root, "data")
  const sockets = root
  chownSync(root, NOBODY, NOGROUP)
  asNobody(join(PG_BIN, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
  const port = await freePort()
  const options = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  const pgStart = () => asNobody(join(PG_BIN, "pg_ctl"), ["-D", data, "-o", options, "-w", "-t", "30", "-l", join(root, "log"), "start"])
  const pgStop = () => {
    try {
      asNobody(join(PG_BIN, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"])
    } catch {
      // already stopped
    }
  }
  pgStart()
  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`
  const psql = (sql: string, database = "postgres") =>
    execFileSync(join(PG_BIN, "psql"), ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql, url(database)], {
      encoding: "utf8",
      timeout: 30_000
    })
  return {
    port,
    url,
    psql,
    createDatabase: () => {
      const name = `lb_${process.pid}_${++databases}`
      psql(`CREATE DATABASE ${name}`)
      return url(name)
    },
    pgStop,
    pgStart,
    stop: () => {
      pgStop()
      if (process.env.LB_TEST_KEEP_PG === undefined) rmSync(root, { recursive: true, force: true })
    },
    restart: async (pausedMs = 0) => {
      pgStop()
      await new Promise((resolve) => setTimeout(resolve, pausedMs))
      pgStart()
    }
  }
}

export interface Redis {
  readonly port: number
  /** A connection URL to one of its databases (0 to 15; tests that share a server take one each). */
  readonly url: (db?: number) => string
  /** Kills the server (its data is gone: it keeps none on disk). */
  readonly stop: () => Promise<void>
  /** Starts it again on the same port, empty. */
  readonly start: () => Promise<void>
  /** Stops it for good and removes its folder. */
  readonly close: () => Promise<void>
  /** Freezes it (SIGSTOP): connections stay open, nothing answers. */
  readonly pause: () => void
  readonly resume: () => void
}

/**
 * redis-server on a free port of 127.0.0.1, no persistence, its working folder a temp one. Another
 * process may take the port between its choice and the bind: then it tries another, twice at most.
 */
export const startRedis = async (): Promise<Redis> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await redisOn(await freePort())
    } catch (error) {
      if (attempt === 3) throw error
    }
  }
}

const redisOn = async (port: number): Promise<Redis> => {
  const dir = mkdtempSync(join(tmpdir(), "lb-redis-"))
  let child: ChildProcess | undefined
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const started = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      child = started
      let output = ""
      const timer = setTimeout(() => {
        started.kill("SIGKILL")
        reject(new Error(`redis-server did not start within 10 s:\n${output}`))
      }, 10_000)
      started.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer)
          resolve()
        }
      })
      started.once("exit", (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with ${code}:\n${output}`))
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      const running = child
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return resolve()
      running.once("exit", () => resolve())
      running.kill("SIGCONT")
      running.kill("SIGKILL")
    })
  try {
    await start()
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    start,
    stop,
    close: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT")
  }
}
