import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { type IncomingHttpHeaders, request } from "node:http"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { type Directive, expandedConfig, find, nginxTest, parseNginx, startNginx } from "./support/Nginx.js"
import { deploy, type Deployment, envIn, freePort, startAsNode, waitFor200 } from "./support/Rehearsal.js"
import { read } from "./support/Repo.js"

const config = parseNginx(expandedConfig("docker/nginx/nginx.conf"))
const http = find(config, "http")[0]!.block!
const server = find(http, "server")[0]!.block!
const location = (...args: ReadonlyArray<string>) => {
  const [found] = find(server, "location", ...args)
  if (found === undefined) throw new Error(`no location ${args.join(" ")}`)
  return found.block!
}
const value = (block: ReadonlyArray<Directive>, name: string) => find(block, name).map((d) => d.args.join(" "))
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)![1])

describe("docker/nginx/nginx.conf", () => {
  it("passes nginx -t with the upstream names on 127.0.0.1", () => {
    const result = nginxTest("docker/nginx/nginx.conf", ["load-balancer:8090", "load-producer:8088"])
    expect(result.status, result.stderr).toBe(0)
    expect(result.stderr).toContain("syntax is ok")
  })

  it("compresses text, JSON, JavaScript, CSS and SVG, never event streams", () => {
    expect(value(http, "gzip")).toEqual(["on"])
    expect(value(http, "gzip_proxied")).toEqual(["any"])
    const types = find(http, "gzip_types")[0]!.args
    for (const type of ["text/plain", "text/css", "application/json", "application/javascript", "text/javascript", "image/svg+xml"]) {
      expect(types).toContain(type)
    }
    expect(types).not.toContain("text/event-stream")
  })

  it("adds the three security headers to every response, in one place that no location overrides", () => {
    const added = find(http, "add_header").map((d) => d.args)
    expect(added).toEqual([
      ["X-Content-Type-Options", "nosniff", "always"],
      ["X-Frame-Options", "DENY", "always"],
      ["Referrer-Policy", "no-referrer", "always"]
    ])
    // An add_header in a server or location would drop the inherited ones there.
    const nested = (block: ReadonlyArray<Directive>): ReadonlyArray<Directive> => block.flatMap((d) => d.block ? [...d.block, ...nested(d.block)] : [])
    expect(nested(http).filter((d) => d.name === "add_header" || d.name === "proxy_set_header")).toEqual([])
  })

  it("accepts bodies of 10 MB everywhere and sets X-Forwarded-For", () => {
    expect(value(http, "client_max_body_size")).toEqual(["10m"])
    expect(value(http, "proxy_set_header")).toContain("X-Forwarded-For $proxy_add_x_forwarded_for")
  })

  it("streams /v1/ and /admin/api/events unbuffered with read timeouts of at least 300 s", () => {
    for (const block of [location("/v1/"), location("=", "/admin/api/events")]) {
      expect(value(block, "proxy_buffering")).toEqual(["off"])
      expect(seconds(value(block, "proxy_read_timeout")[0]!)).toBeGreaterThanOrEqual(300)
    }
  })

  it("upgrades the producer's /api/live to a WebSocket", () => {
    expect(value(location("=", "/api/live"), "proxy_pass")).toEqual(["http://load_producer"])
    expect(value(http, "proxy_http_version")).toEqual(["1.1"])
    expect(value(http, "proxy_set_header")).toEqual(expect.arrayContaining([
      "Upgrade $http_upgrade",
      "Connection $connection_upgrade"
    ]))
  })
})

describe("docker/nginx/scale.conf", () => {
  const scaleHttp = find(parseNginx(expandedConfig("docker/nginx/scale.conf")), "http")[0]!.block!
  const scaleServer = find(scaleHttp, "server")[0]!.block!
  const upstream = (name: string) => find(scaleHttp, "upstream", name)[0]!.block!
  const passTo = (...args: ReadonlyArray<string>) => value(find(scaleServer, "location", ...args)[0]!.block!, "proxy_pass")

  it("passes nginx -t with both replicas on 127.0.0.1", () => {
    const result = nginxTest("docker/nginx/scale.conf", ["balancer-1:8090", "balancer-2:8090"])
    expect(result.status, result.stderr).toBe(0)
    expect(result.stderr).toContain("syntax is ok")
  })

  it("shares nginx.conf's gzip, security headers, body size and forwarded headers", () => {
    for (const file of ["docker/nginx/nginx.conf", "docker/nginx/scale.conf"]) {
      expect(find(parseNginx(read(file)), "http")[0]!.block![0], file).toEqual({ name: "include", args: ["/etc/nginx/llmlb-common.conf"] })
    }
    for (const name of ["gzip", "add_header", "client_max_body_size", "proxy_set_header", "proxy_http_version"]) {
      expect(value(scaleHttp, name), name).toEqual(value(http, name))
    }
  })

  it("spreads /v1/ and /health to the replica with the fewest open requests, everything else by client address", () => {
    expect(value(upstream("replicas"), "least_conn")).toEqual([""])
    // Without a shared zone each worker process would count open requests of its own.
    for (const name of ["replicas", "replicas_by_client"]) expect(value(upstream(name), "zone"), name).toEqual([`${name} 64k`])
    expect(value(upstream("replicas_by_client"), "hash")).toEqual(["$remote_addr consistent"])
    expect(passTo("/v1/")).toEqual(["http://replicas"])
    expect(passTo("=", "/health")).toEqual(["http://replicas"])
    expect(passTo("=", "/admin/api/events")).toEqual(["http://replicas_by_client"])
    expect(passTo("/")).toEqual(["http://replicas_by_client"])
    expect(value(find(scaleServer, "location", "=", "/metrics")[0]!.block!, "return")).toEqual(["404"])
  })

  it("streams /v1/ and /admin/api/events unbuffered with read timeouts of at least 300 s", () => {
    for (const args of [["/v1/"], ["=", "/admin/api/events"]]) {
      const block = find(scaleServer, "location", ...args)[0]!.block!
      expect(value(block, "proxy_buffering"), args.join(" ")).toEqual(["off"])
      expect(seconds(value(block, "proxy_read_timeout")[0]!)).toBeGreaterThanOrEqual(300)
    }
  })

  it("tries the other replica when one cannot be reached, but never sends a request twice", () => {
    const next = find(scaleHttp, "proxy_next_upstream")[0]!.args
    expect(next).toEqual(["error", "timeout"])
    expect(next).not.toContain("non_idempotent")
    expect(value(scaleHttp, "proxy_next_upstream_tries")).toEqual(["2"])
  })
})

/** A raw HTTP/1.1 exchange (fetch hides Content-Encoding handling and cannot choose its local address). */
const exchange = (
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; localAddress?: string } = {}
) =>
  Effect.promise(() =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer; chunkTimes: Array<number> }>((resolve, reject) => {
      const started = Date.now()
      const req = request(url, { method: options.method ?? "GET", headers: options.headers, localAddress: options.localAddress }, (res) => {
        const chunks: Array<Buffer> = []
        const chunkTimes: Array<number> = []
        res.on("data", (c: Buffer) => {
          chunks.push(c)
          chunkTimes.push(Date.now() - started)
        })
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), chunkTimes }))
      })
      req.on("error", reject)
      req.end(options.body)
    })
  )

const SECURITY_HEADERS = { "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer" }
const ADMIN_TOKEN = "nginx-test-admin-token-0123456789"
const PRODUCER_TOKEN = "nginx-test-producer-token-0123456789"

const startDeployed = (d: Deployment, args: ReadonlyArray<string>, env: Record<string, string>, healthUrl: string) =>
  Effect.gen(function*() {
    const started = yield* startAsNode(d.app, args, env)
    yield* waitFor200(healthUrl, started)
    return started
  })

describe("nginx in front of the balancer and the producer, running", () => {
  it.scopedLive("proxies both apps: gzip, single security headers, unbuffered streams, the client's address, 413, WebSocket upgrades, a producer run", () =>
    Effect.gen(function*() {
      const simPort = yield* freePort()
      const sim = yield* deploy("docker/balancer.Dockerfile", "upstream-sim")
      yield* startDeployed(
        sim,
        ["main.js", "--host", "127.0.0.1", "--port", String(simPort), "--model", "m1", "--itl-ms", "150", "--output-tokens", "6"],
        envIn(sim, {}),
        `http://127.0.0.1:${simPort}/health`
      )
      const lbPort = yield* freePort()
      const lb = yield* deploy("docker/balancer.Dockerfile", "balancer")
      const lbUrl = `http://127.0.0.1:${lbPort}`
      // nginx reaches the balancer from 127.0.0.1 here, as from NGINX_ADDRESS in compose.
      yield* startDeployed(
        lb,
        ["main.js"],
        envIn(lb, { LB_HOST: "127.0.0.1", LB_PORT: String(lbPort), LB_ADMIN_TOKEN: ADMIN_TOKEN, LB_TRUSTED_PROXIES: "127.0.0.1" }),
        `${lbUrl}/health`
      )
      // The real producer behind nginx too, as in compose (its token set, new cards aimed at the balancer).
      const producerPort = yield* freePort()
      const producer = yield* deploy("docker/producer.Dockerfile", "producer")
      yield* startDeployed(
        producer,
        ["main.js"],
        envIn(producer, { LP_HOST: "127.0.0.1", LP_PORT: String(producerPort), LP_TOKEN: PRODUCER_TOKEN, LP_DEFAULT_BASE_URL: `${lbUrl}/v1` }),
        `http://127.0.0.1:${producerPort}/`
      )
      const port = yield* freePort()
      const nginx = yield* startNginx("docker/nginx/nginx.conf", port, {
        "load-balancer:8090": `127.0.0.1:${lbPort}`,
        "load-producer:8088": `127.0.0.1:${producerPort}`
      })
      const url = `http://127.0.0.1:${port}`
      yield* Effect.promise(async () => {
        for (let i = 0; i < 300; i++) {
          if (await fetch(`${url}/nginx-health`).then((r) => r.ok, () => false)) return
          await new Promise((r) => setTimeout(r, 50))
        }
        throw new Error(`nginx did not start: ${nginx.errors()}`)
      })
      const admin = { "x-admin-token": ADMIN_TOKEN }

      // Every response carries each security header once: the balancer's, the producer's, nginx's own.
      for (const path of ["/health", "/", "/nginx-health", "/metrics", "/admin/api/state"]) {
        const res = yield* exchange(`${url}${path}`)
        expect(res.headers, path).toMatchObject(SECURITY_HEADERS)
      }
      expect((yield* exchange(`${url}/metrics`)).status).toBe(404)
      expect(JSON.parse(String((yield* exchange(`${url}/health`)).body))).toMatchObject({ status: "ok" })

      // JSON is compressed.
      const openapi = yield* exchange(`${url}/admin/api/openapi.json`, { headers: { "accept-encoding": "gzip" } })
      expect(openapi.headers["content-encoding"]).toBe("gzip")
      expect(JSON.parse(String(gunzipSync(openapi.body)))).toHaveProperty("openapi")

      const created = yield* exchange(`${url}/admin/api/endpoints`, {
        method: "POST",
        headers: { ...admin, "content-type": "application/json" },
        body: JSON.stringify({ name: "sim", base_url: `http://127.0.0.1:${simPort}/v1`, connected: true })
      })
      expect(created.status).toBe(201)

      // A token stream arrives token by token, uncompressed: the first chunk long before the last.
      const stream = yield* exchange(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "accept-encoding": "gzip" },
        body: JSON.stringify({ model: "m1", stream: true, messages: [{ role: "user", content: "hi" }] })
      })
      expect(stream.status).toBe(200)
      expect(stream.headers["content-encoding"]).toBeUndefined()
      expect(String(stream.body)).toContain("data: [DONE]")
      // 6 tokens 150 ms apart: buffering would deliver them together at the end.
      expect(stream.chunkTimes.at(-1)! - stream.chunkTimes[0]!).toBeGreaterThan(500)

      // The audit log records the client nginx saw (127.0.0.2), not what the client wrote into X-Forwarded-For.
      const patched = yield* exchange(`${url}/admin/api/routing`, {
        method: "PATCH",
        localAddress: "127.0.0.2",
        headers: { ...admin, "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
        body: JSON.stringify({ mode: "priority" })
      })
      expect(patched.status).toBe(200)
      const audit = JSON.parse(String((yield* exchange(`${lbUrl}/admin/api/audit?limit=1`, { headers: admin })).body))
      expect(audit[0]).toMatchObject({ action: "settings.update", client_address: "127.0.0.2" })

      // Over 10 MB: nginx answers 413 itself.
      const tooLarge = yield* exchange(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: Buffer.alloc(10 * 1024 * 1024 + 1, 32)
      })
      expect(tooLarge.status).toBe(413)

      // The producer's page, and its live feed upgraded end to end (with its token; refused without).
      const page = yield* exchange(`${url}/`)
      expect(page.status).toBe(200)
      expect(String(page.body)).toBe(readFileSync(join(producer.app, "web/index.html"), "utf8"))
      const upgrade = (headers: Record<string, string>) =>
        Effect.promise(() =>
          new Promise<number>((resolve, reject) => {
            const req = request(`${url}/api/live`, {
              headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", ...headers }
            })
            req.on("upgrade", (res, socket) => {
              socket.destroy()
              resolve(res.statusCode!)
            })
            req.on("response", (res) => {
              res.resume()
              resolve(res.statusCode!)
            })
            req.on("error", reject)
            req.end()
          })
        )
      expect(yield* upgrade({ authorization: `Bearer ${PRODUCER_TOKEN}` })).toBe(101)
      expect(yield* upgrade({})).toBe(401)

      // A run from the producer to the balancer (as compose's LP_DEFAULT_BASE_URL), on two load-engine workers:
      // the worker script ships in the image beside main.js.
      const producerAuth = { authorization: `Bearer ${PRODUCER_TOKEN}`, "content-type": "application/json" }
      const started = yield* exchange(`${url}/api/runs`, {
        method: "POST",
        headers: producerAuth,
        body: JSON.stringify({ base_url: `${lbUrl}/v1`, model: "m1", requests: 4, concurrency: 2, workers: 2, max_tokens: 2 })
      })
      expect(started.status, String(started.body)).toBe(201)
      const runId = JSON.parse(String(started.body)).id
      const finished = yield* Effect.promise(async () => {
        for (let i = 0; i < 300; i++) {
          const run = await fetch(`${url}/api/runs/${runId}`, { headers: producerAuth }).then((r) => r.json())
          if (run.status !== "running") return run
          await new Promise((r) => setTimeout(r, 100))
        }
        throw new Error("the run did not end within 30 s")
      })
      expect(finished).toMatchObject({ status: "done", report: { completed: 4, failed: 0 } })
    }))
})
