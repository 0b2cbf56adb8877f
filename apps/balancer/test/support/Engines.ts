/**
 * A real PostgreSQL for tests: started from Debian's binaries on a free port in a temp
 * folder (never the system services) and stopped by the caller. We run as root and PostgreSQL refuses
 * to, so its cluster belongs to `nobody` and its commands run through setpriv.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const PG_BIN = "/usr/lib/postgresql/15/bin"
const NOBODY = 65534
const NOGROUP = 65534

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

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
