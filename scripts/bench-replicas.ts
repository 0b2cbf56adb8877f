/**
 * bench:replicas (issue 14 item 8, in part): two balancer processes (dist/main.js) on one PostgreSQL
 * started here; the time for a configuration change made through replica A to be in force on replica B
 * (p50/p99 over 100 changes of the routing mode, B polled every 2 ms). The req/s comparison of one
 * against two replicas is not measured yet.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { startPostgres } from "../apps/balancer/test/support/Engines.js"

const MAIN = fileURLToPath(new URL("../apps/balancer/dist/main.js", import.meta.url))
const ADMIN = "bench-replicas-admin-token-0123"

const startReplica = (url: string, id: string) =>
  new Promise<{ url: string; kill: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, LB_PORT: "0", LB_HOST: "127.0.0.1", LB_DATABASE_URL: url, LB_REPLICA_ID: id,
        LB_ADMIN_TOKEN: ADMIN, LB_ADMIN_RATE_LIMIT_RPM: "1000000", LB_CONFIG_RELOAD_SECONDS: "600" }
    })
    let output = ""
    child.stdout.on("data", (d) => {
      output += d
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output)
      if (match) resolve({ url: `http://127.0.0.1:${match[1]}`, kill: () => child.kill("SIGTERM") })
    })
    child.on("exit", (code) => reject(new Error(`replica exited with ${code}: ${output}`)))
  })

const admin = async (base: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${base}/admin/api${path}`, {
    method,
    headers: { "x-admin-token": ADMIN, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return response.json() as Promise<any>
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!

const postgres = await startPostgres()
try {
  const url = postgres.createDatabase()
  const a = await startReplica(url, "a")
  const b = await startReplica(url, "b")
  const times: Array<number> = []
  const modes = ["priority", "percentage"] as const
  for (let i = 0; i < 100; i++) {
    const mode = modes[i % 2]!
    const start = performance.now()
    await admin(a.url, "PATCH", "/routing", { mode })
    while ((await admin(b.url, "GET", "/state")).routing_mode !== mode) {
      if (performance.now() - start > 10_000) throw new Error("change not seen within 10 s")
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    times.push(performance.now() - start)
  }
  a.kill()
  b.kill()
  times.sort((x, y) => x - y)
  console.log(`change through A in force on B (100 changes, includes A's write): p50 ${percentile(times, 0.5).toFixed(1)} ms, p99 ${percentile(times, 0.99).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms`)
} finally {
  postgres.stop()
}
