/**
 * serveStatic against a temp folder shaped like a Vite build (index.html, hashed assets with .br and
 * .gz siblings, an unhashed file), behind a real node:http server on 127.0.0.1. Requests go out with
 * node:http so that their paths reach the server exactly as written (fetch would resolve `..`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { brotliCompressSync, gzipSync } from "node:zlib"
import { acceptedEncodings, DEFAULT_CSP, IMMUTABLE, REVALIDATE, serveStatic } from "../src/index.js"

const INDEX = `<!doctype html><html><head><script type="module" src="/admin/assets/index-B1x_9kQz.js"></script></head><body></body></html>\n`
const SCRIPT = `console.log("editor");\n`.repeat(50)
const STYLE = `body { color: black; }\n`
const SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT"

interface Answer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
}

let dir: string
let server: Http.Server
let port: number

/** A request with its path sent verbatim. */
const request = (path: string, options: { readonly method?: string; readonly headers?: Http.OutgoingHttpHeaders } = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const req = Http.request({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on("error", reject)
    req.end()
  })

/** Sites on one server: /admin from the build, /empty from a folder without index.html, the rest 418. */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "static-test-"))
  const root = join(dir, "editor")
  mkdirSync(join(root, "assets"), { recursive: true })
  mkdirSync(join(dir, "empty"))
  writeFileSync(join(root, "index.html"), INDEX)
  writeFileSync(join(root, "index.html.gz"), gzipSync(INDEX))
  writeFileSync(join(root, "assets/index-B1x_9kQz.js"), SCRIPT)
  writeFileSync(join(root, "assets/index-B1x_9kQz.js.br"), brotliCompressSync(SCRIPT))
  writeFileSync(join(root, "assets/index-B1x_9kQz.js.gz"), gzipSync(SCRIPT))
  writeFileSync(join(root, "assets/style-Cq2w8e7R.css"), STYLE)
  writeFileSync(join(root, "favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
  writeFileSync(join(dir, "secret.txt"), SECRET)

  const admin = serveStatic({ root, basePath: "/admin" })
  const empty = serveStatic({ root: join(dir, "empty"), basePath: "/empty", notBuiltMessage: "editor not built: run corepack pnpm build" })
  const everything = serveStatic({ root, basePath: "/" })
  server = Http.createServer((req, res) => {
    if (req.headers["x-site"] === "root") {
      if (!everything(req, res)) res.writeHead(418).end()
      return
    }
    if (!admin(req, res) && !empty(req, res)) res.writeHead(418).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

describe("serveStatic", () => {
  it.each(["/admin", "/admin/", "/admin?x=1"])("serves index.html at %s, revalidated, with the CSP", async (path) => {
    const answer = await request(path)
    expect(answer.status).toBe(200)
    expect(answer.body.toString()).toBe(INDEX)
    expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8")
    expect(answer.headers["cache-control"]).toBe(REVALIDATE)
    expect(answer.headers["content-security-policy"]).toBe(DEFAULT_CSP)
    expect(answer.headers["vary"]).toBe("Accept-Encoding")
    expect(answer.headers["content-length"]).toBe(String(INDEX.length))
    expect(answer.headers.etag).toMatch(/^"[0-9a-z]+-[0-9a-z]+"$/)
  })

  it("allows only the page's own origin: no inline script", () => {
    expect(DEFAULT_CSP).toContain("script-src 'self';")
    expect(DEFAULT_CSP).not.toContain("unsafe")
    expect(DEFAULT_CSP).toContain("frame-ancestors 'none'")
  })

  it("answers 304 to a request that has index.html already", async () => {
    const { headers } = await request("/admin/")
    const again = await request("/admin/", { headers: { "if-none-match": headers.etag! } })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    expect(again.headers.etag).toBe(headers.etag)
    expect(again.headers["cache-control"]).toBe(REVALIDATE)
    expect((await request("/admin/", { headers: { "if-none-match": "\"other\"" } })).status).toBe(200)
  })

  it("caches a hashed asset for a year", async () => {
    const answer = await request("/admin/assets/style-Cq2w8e7R.css")
    expect(answer.status).toBe(200)
    expect(answer.body.toString()).toBe(STYLE)
    expect(answer.headers["content-type"]).toBe("text/css; charset=utf-8")
    expect(answer.headers["cache-control"]).toBe(IMMUTABLE)
    expect(answer.headers["content-encoding"]).toBeUndefined()
  })

  it("revalidates a file without a hash", async () => {
    const answer = await request("/admin/favicon.svg")
    expect(answer.status).toBe(200)
    expect(answer.headers["content-type"]).toBe("image/svg+xml")
    expect(answer.headers["cache-control"]).toBe(REVALIDATE)
  })

  it.each([
    ["gzip, deflate, br", "br", ".br"],
    ["gzip", "gzip", ".gz"],
    ["br;q=0, gzip;q=0.5", "gzip", ".gz"],
    ["*", "br", ".br"],
    ["identity", undefined, ""],
    ["", undefined, ""]
  ] as const)("sends Accept-Encoding %j the %s sibling", async (accept, encoding, suffix) => {
    const answer = await request("/admin/assets/index-B1x_9kQz.js", { headers: { "accept-encoding": accept } })
    expect(answer.status).toBe(200)
    expect(answer.headers["content-encoding"]).toBe(encoding)
    expect(answer.headers["content-type"]).toBe("text/javascript; charset=utf-8")
    expect(answer.headers["vary"]).toBe("Accept-Encoding")
    expect(answer.headers["cache-control"]).toBe(IMMUTABLE)
    const expected = suffix === ".br" ? brotliCompressSync(SCRIPT) : suffix === ".gz" ? gzipSync(SCRIPT) : Buffer.from(SCRIPT)
    expect(answer.body.length).toBe(expected.length)
    expect(Number(answer.headers["content-length"])).toBe(answer.body.length)
  })

  it("gives each encoding its own ETag", async () => {
    const br = await request("/admin/assets/index-B1x_9kQz.js", { headers: { "accept-encoding": "br" } })
    const plain = await request("/admin/assets/index-B1x_9kQz.js")
    expect(br.headers.etag).not.toBe(plain.headers.etag)
    expect((await request("/admin/assets/index-B1x_9kQz.js", { headers: { "if-none-match": plain.headers.etag!, "accept-encoding": "br" } })).status)
      .toBe(200)
  })

  it("falls back to index.html for the app's own routes", async () => {
    for (const path of ["/admin/endpoints/3f2a", "/admin/tokens", "/admin/assets", "/admin/a.b/c"]) {
      const answer = await request(path)
      expect([path, answer.status, answer.body.toString()]).toEqual([path, 200, INDEX])
      expect(answer.headers["cache-control"]).toBe(REVALIDATE)
    }
  })

  it("answers 404 for a missing file rather than the page", async () => {
    for (const path of ["/admin/missing.js", "/admin/assets/index-Zzzzzzzz.js", "/admin/robots.txt"]) {
      const answer = await request(path)
      expect([path, answer.status]).toEqual([path, 404])
      expect(answer.headers["content-security-policy"]).toBe(DEFAULT_CSP)
    }
  })

  it("answers HEAD with the headers of GET and no body", async () => {
    const answer = await request("/admin/assets/index-B1x_9kQz.js", { method: "HEAD" })
    expect(answer.status).toBe(200)
    expect(answer.headers["content-length"]).toBe(String(SCRIPT.length))
    expect(answer.headers["cache-control"]).toBe(IMMUTABLE)
    expect(answer.body.length).toBe(0)
  })

  it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])("refuses %s with 405", async (method) => {
    const answer = await request("/admin/", { method })
    expect(answer.status).toBe(405)
    expect(answer.headers.allow).toBe("GET, HEAD")
  })

  it.each([
    "/admin/../secret.txt",
    "/admin/assets/../../secret.txt",
    "/admin/%2e%2e/secret.txt",
    "/admin/%2E%2E/secret.txt",
    "/admin/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/admin/..%2fsecret.txt",
    "/admin/%5c..%5csecret.txt",
    "/admin/./index.html",
    "/admin/index.html%00.js",
    "/admin/%00",
    "/admin/%zz"
  ])("refuses the path %s with 400", async (path) => {
    const answer = await request(path)
    expect(answer.status).toBe(400)
    expect(answer.body.toString()).not.toContain(SECRET)
  })

  it("leaves paths outside its base to the next handler", async () => {
    for (const path of ["/", "/administrator", "/v1/models", "/adm", "*"]) {
      expect([path, (await request(path)).status]).toEqual([path, 418])
    }
  })

  it("says how to build the app while its folder has no index.html", async () => {
    for (const path of ["/empty", "/empty/assets/x-12345678.js"]) {
      const answer = await request(path)
      expect(answer.status).toBe(503)
      expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8")
      expect(answer.body.toString()).toContain("editor not built: run corepack pnpm build")
    }
  })

  it("serves a whole origin with base path /", async () => {
    const headers = { "x-site": "root" }
    expect((await request("/", { headers })).body.toString()).toBe(INDEX)
    expect((await request("/runs/42", { headers })).body.toString()).toBe(INDEX)
    expect((await request("/assets/style-Cq2w8e7R.css", { headers })).headers["cache-control"]).toBe(IMMUTABLE)
    expect((await request("/../secret.txt", { headers })).status).toBe(400)
  })
})

describe("acceptedEncodings", () => {
  it.each([
    [undefined, []],
    ["", []],
    ["gzip, deflate, br", ["br", "gzip"]],
    ["br;q=0, gzip", ["gzip"]],
    ["GZIP;Q=0.8", ["gzip"]],
    ["x-gzip", ["gzip"]],
    ["*", ["br", "gzip"]],
    ["*;q=0", []],
    ["br, *;q=0", ["br"]],
    ["identity", []],
    ["gzip;q=nonsense", []]
  ] as const)("reads %j as %j", (header, expected) => {
    expect(acceptedEncodings(header)).toEqual(expected)
  })
})
