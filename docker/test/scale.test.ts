/**
 * The compose `scale` profile rehearsed without an engine: the balancer's runtime stage deployed once and started
 * twice with balancer-1's and balancer-2's environment exactly as docker-compose.yml gives it (only the service
 * names moved to 127.0.0.1 ports), on a real PostgreSQL with the role and database the postgres service creates,
 * a real Redis with the password the redis service requires, behind nginx running docker/nginx/scale.conf.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { startPostgres, startRedis } from "../../apps/balancer/test/support/Engines.js"
import { startNginx } from "./support/Nginx.js"
import { deploy, envIn, freePort, startAsNode, waitFor200 } from "./support/Rehearsal.js"
import { compose, serviceEnv } from "./support/Repo.js"

const { services } = compose()
const REPLICAS = ["balancer-1", "balancer-2"] as const
const flag = (command: ReadonlyArray<string>, name: string) => command[command.indexOf(name) + 1]!

/** A URL of the compose file with its service host moved here. */
const rehost = (url: string, host: string) => {
  const moved = new URL(url)
  moved.host = host
  return moved.toString()
}

/** Polls until `check` holds; fails with `what` after `timeoutMs` (generous: the machine is shared). */
const until = (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

const json = async (response: Response) => ({ status: response.status, body: await response.json() as any })

/** This replica's own count of proxied requests (its /metrics, labelled with its replica id). */
const requestsCountedBy = async (url: string) => {
  const text = await fetch(`${url}/metrics`).then((r) => r.text())
  return [...text.matchAll(/^lb_endpoint_requests_total\{[^}]*\} (\d+)$/gm)].reduce((sum, [, n]) => sum + Number(n), 0)
}

describe("the scale profile, rehearsed", () => {
  it.scopedLive("spreads /v1 over both replicas, keeps the editor on one, shares limits through Redis, and serves on when a replica stops", () =>
    Effect.gen(function*() {
      // PostgreSQL with the role and database of the postgres service.
      const pg = yield* Effect.acquireRelease(Effect.promise(() => startPostgres()), (p) => Effect.sync(() => p.stop()))
      const pgEnv = serviceEnv(services["postgres"]!)
      pg.psql(`CREATE ROLE ${pgEnv["POSTGRES_USER"]} LOGIN PASSWORD '${pgEnv["POSTGRES_PASSWORD"]}'`)
      pg.psql(`CREATE DATABASE ${pgEnv["POSTGRES_DB"]} OWNER ${pgEnv["POSTGRES_USER"]}`)
      // Redis requiring the password of the redis service's command.
      const redis = yield* Effect.acquireRelease(Effect.promise(() => startRedis()), (r) => Effect.promise(() => r.close()))
      const redisPassword = flag(services["redis"]!["command"], "--requirepass")
      execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", String(redis.port), "CONFIG", "SET", "requirepass", redisPassword])

      const simPort = yield* freePort()
      const sim = yield* deploy("docker/balancer.Dockerfile", "upstream-sim")
      const simProcess = yield* startAsNode(
        sim.app,
        ["main.js", "--host", "127.0.0.1", "--port", String(simPort), "--model", "m1", "--itl-ms", "100", "--output-tokens", "5"],
        envIn(sim, {})
      )
      yield* waitFor200(`http://127.0.0.1:${simPort}/health`, simProcess)

      // Both replicas start together, as compose starts them (the migration runs once, under its lock).
      const lb = yield* deploy("docker/balancer.Dockerfile", "balancer")
      const replicas = yield* Effect.forEach(REPLICAS, (name) =>
        Effect.gen(function*() {
          const port = yield* freePort()
          const composed = Object.entries(serviceEnv(services[name]!)).filter((e): e is [string, string] => e[1] !== null)
          const env = envIn(lb, {
            ...Object.fromEntries(composed),
            LB_HOST: "127.0.0.1",
            LB_PORT: String(port),
            LB_DB_PATH: join(lb.data, `${name}.db`),
            LB_DATABASE_URL: rehost(serviceEnv(services[name]!)["LB_DATABASE_URL"]!, `127.0.0.1:${pg.port}`),
            LB_REDIS_URL: rehost(serviceEnv(services[name]!)["LB_REDIS_URL"]!, `127.0.0.1:${redis.port}`),
            // nginx reaches the replicas from 127.0.0.1 here, as from SCALE_NGINX_ADDRESS in compose.
            LB_TRUSTED_PROXIES: "127.0.0.1"
          })
          const started = yield* startAsNode(lb.app, ["main.js"], env)
          return { name, port, url: `http://127.0.0.1:${port}`, started }
        }), { concurrency: "unbounded" })
      for (const r of replicas) yield* waitFor200(`${r.url}/health`, r.started)

      const port = yield* freePort()
      const nginx = yield* startNginx(
        "docker/nginx/scale.conf",
        port,
        Object.fromEntries(replicas.map((r) => [`${r.name}:${serviceEnv(services[r.name]!)["LB_PORT"]}`, `127.0.0.1:${r.port}`]))
      )
      const url = `http://127.0.0.1:${port}`
      yield* until(`nginx answers (${nginx.errors()})`, () => fetch(`${url}/nginx-health`).then((r) => r.ok))
      const admin = { "x-admin-token": serviceEnv(services["balancer-1"]!)["LB_ADMIN_TOKEN"]!, "content-type": "application/json" }
      const healthVia = () => Effect.promise(() => fetch(`${url}/health`).then(json))

      // /health names the replica that answered: both answer through nginx.
      const answered = new Set<string>()
      for (let i = 0; i < 10; i++) answered.add((yield* healthVia()).body.replica)
      expect([...answered].sort()).toEqual([...REPLICAS])

      // An endpoint created through nginx is in force on both replicas.
      const created = yield* Effect.promise(() =>
        fetch(`${url}/admin/api/endpoints`, {
          method: "POST",
          headers: admin,
          body: JSON.stringify({ name: "sim", base_url: `http://127.0.0.1:${simPort}/v1`, connected: true })
        }).then(json)
      )
      expect(created.status).toBe(201)
      for (const r of replicas) {
        yield* until(`${r.name} serves m1`, () => fetch(`${r.url}/v1/models`).then((res) => res.json()).then((m: any) => m.data.some((x: any) => x.id === "m1")))
      }

      // Concurrent token streams go to both replicas (the fewest open requests first), each whole.
      const chat = (headers: Record<string, string> = {}, stream = false) =>
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ model: "m1", stream, max_tokens: 5, messages: [{ role: "user", content: "hi" }] })
        }).then(async (res) => ({ status: res.status, body: await res.text() }))
      const streams = yield* Effect.promise(() => Promise.all(Array.from({ length: 6 }, () => chat({}, true))))
      for (const s of streams) {
        expect(s.status).toBe(200)
        expect(s.body).toContain("data: [DONE]")
      }
      // A replica counts a stream once it has ended on its side too.
      const countedByEach = () => Promise.all(replicas.map((r) => requestsCountedBy(r.url)))
      yield* until("both replicas counted the six streams", () => countedByEach().then((n) => n[0]! + n[1]! === 6))
      for (const n of yield* Effect.promise(countedByEach)) expect(n).toBeGreaterThan(0)

      // The editor trades its token for an event-stream ticket and redeems it in another request: both reach the
      // same replica every time (with the replicas taking turns, six in a row would succeed once in 64 runs).
      for (let i = 0; i < 6; i++) {
        const { body } = yield* Effect.promise(() => fetch(`${url}/admin/api/events/ticket`, { method: "POST", headers: admin }).then(json))
        const events = yield* Effect.promise(async () => {
          const controller = new AbortController()
          const res = await fetch(`${url}/admin/api/events?ticket=${body.ticket}`, { signal: controller.signal })
          controller.abort()
          return { status: res.status, type: res.headers.get("content-type") }
        })
        expect(events.status, `ticket ${i}`).toBe(200)
        expect(events.type).toContain("text/event-stream")
      }

      // A client token's rpm limit holds for the cluster, not per replica: Redis counts for both.
      const token = (body: object) =>
        Effect.promise(() => fetch(`${url}/admin/api/tokens`, { method: "POST", headers: admin, body: JSON.stringify(body) }).then(json))
      const limited = yield* token({ name: "limited", rpm_limit: 4 })
      const unlimited = yield* token({ name: "unlimited" })
      expect([limited.status, unlimited.status]).toEqual([201, 201])
      // Both replicas know the tokens once the open API closes on each.
      for (const r of replicas) yield* until(`${r.name} requires a token`, () => fetch(`${r.url}/v1/models`).then((res) => res.status === 401))
      const before = yield* Effect.promise(countedByEach)
      const statuses: Array<number> = []
      for (let i = 0; i < 8; i++) statuses.push((yield* Effect.promise(() => chat({ authorization: `Bearer ${limited.body.token}` }))).status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(4)
      expect(statuses.filter((s) => s === 429)).toHaveLength(4)
      // The admitted four were served by both replicas.
      yield* until("both replicas counted the four admitted", () => countedByEach().then((n) => n[0]! + n[1]! === before[0]! + before[1]! + 4))
      const after = yield* Effect.promise(countedByEach)
      for (const [i] of replicas.entries()) expect(after[i]! - before[i]!).toBeGreaterThan(0)

      // balancer-1 stops (SIGTERM, drained, exit 0): nginx sends everything to balancer-2, no request fails.
      const [first, second] = replicas
      first!.started.child.kill("SIGTERM")
      expect(yield* Effect.promise(() => first!.started.exited)).toBe(0)
      for (let i = 0; i < 6; i++) {
        expect((yield* healthVia()).body.replica).toBe(second!.name)
        expect((yield* Effect.promise(() => chat({ authorization: `Bearer ${unlimited.body.token}` }))).status).toBe(200)
      }
      const state = yield* Effect.promise(() => fetch(`${url}/admin/api/state`, { headers: admin }))
      expect(state.status).toBe(200)
    }), 300_000) // two deployments, four servers and nginx started on a shared 2-core machine
})
