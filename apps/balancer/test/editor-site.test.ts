/**
 * The built editor at /admin (packages/static behind the balancer's dispatcher): its files, the SPA
 * fallback, the admin API left alone beneath it, the 503 before a build, and where the default
 * LB_WEB_DIR points from the sources and from dist/main.js.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { brotliCompressSync } from "node:zlib"
import { LbConfig } from "../src/Config.js"
import { startBalancer, tempDbPath } from "./support/Balancer.js"
import { spawnBalancer } from "./support/Process.js"

const INDEX = `<!doctype html><title>Flow editor</title><script type="module" src="/admin/assets/index-D4f_k2Lq.js"></script>\n`
const SCRIPT = "export const editor = true;\n".repeat(20)
const BUILT_EDITOR = resolve(fileURLToPath(new URL("../../web/dist/editor", import.meta.url)))

const fakeBuild = () => {
  const dir = mkdtempSync(join(tmpdir(), "lb-editor-"))
  mkdirSync(join(dir, "assets"))
  writeFileSync(join(dir, "index.html"), INDEX)
  writeFileSync(join(dir, "assets/index-D4f_k2Lq.js"), SCRIPT)
  writeFileSync(join(dir, "assets/index-D4f_k2Lq.js.br"), brotliCompressSync(SCRIPT))
  return dir
}

const text = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, { redirect: "manual", ...init })
    return { status: response.status, headers: response.headers, body: await response.text() }
  })

describe("the editor at /admin", () => {
  it.scopedLive("serves the built page and its assets, with the security headers", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_WEB_DIR: fakeBuild() })
      for (const path of ["/admin", "/admin/", "/admin/endpoints/42"]) {
        const page = yield* text(lb.url + path)
        expect([path, page.status, page.body]).toEqual([path, 200, INDEX])
        expect(page.headers.get("cache-control")).toBe("no-cache")
        expect(page.headers.get("content-security-policy")).toContain("script-src 'self';")
        expect(page.headers.get("x-frame-options")).toBe("DENY")
        expect(page.headers.get("x-content-type-options")).toBe("nosniff")
      }
      const asset = yield* text(`${lb.url}/admin/assets/index-D4f_k2Lq.js`, { headers: { "accept-encoding": "br" } })
      expect(asset.status).toBe(200)
      expect(asset.headers.get("content-encoding")).toBe("br")
      expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
      expect(asset.body).toBe(SCRIPT) // fetch decodes brotli
      expect((yield* text(`${lb.url}/admin/assets/gone-D4f_k2Lq.js`)).status).toBe(404)
      // (fetch itself resolves `..` and `%2e%2e` segments; this one reaches the server as written)
      expect((yield* text(`${lb.url}/admin/..%2f..%2fpackage.json`)).status).toBe(400)
      expect((yield* text(`${lb.url}/admin/`, { method: "POST" })).status).toBe(405)
    }), { timeout: 30_000 })

  it.scopedLive("leaves /admin/api to the admin API, and / still redirects to /admin", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_WEB_DIR: fakeBuild() })
      const unauthorized = yield* text(`${lb.url}/admin/api/state`)
      expect(unauthorized.status).toBe(401)
      expect(JSON.parse(unauthorized.body)._tag).toBe("Unauthorized")
      expect((yield* lb.admin("GET", "/state")).status).toBe(200)
      // Not the page, whatever the spelling: these are the API's (404, or 401 before routing).
      for (const path of ["/admin/api/nothing-here", "/admin/api", "//admin/api/state", "/ADMIN/api/state"]) {
        const answer = yield* text(lb.url + path)
        expect([path, answer.body]).not.toEqual([path, INDEX])
        expect([path, answer.status >= 400]).toEqual([path, true])
      }
      const root = yield* text(`${lb.url}/`)
      expect(root.status).toBe(302)
      expect(root.headers.get("location")).toBe("/admin")
      expect((yield* text(`${lb.url}/health`)).status).toBe(200)
    }), { timeout: 30_000 })

  it.scopedLive("answers 503 with the build command while the editor is not built", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_WEB_DIR: mkdtempSync(join(tmpdir(), "lb-editor-empty-")) })
      const page = yield* text(`${lb.url}/admin`)
      expect(page.status).toBe(503)
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(page.body).toContain("editor not built: run corepack pnpm build")
      expect((yield* lb.admin("GET", "/state")).status).toBe(200)
    }), { timeout: 30_000 })

  it.effect("finds apps/web/dist/editor by default, from the sources", () =>
    Effect.gen(function*() {
      const { webDir } = yield* LbConfig
      expect(resolve(webDir)).toBe(BUILT_EDITOR)
    }).pipe(Effect.provide(LbConfig.Default.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))))))

  it.scopedLive("finds apps/web/dist/editor by default from dist/main.js too, whatever the working directory", () =>
    Effect.gen(function*() {
      const lb = yield* spawnBalancer({ LB_DB_PATH: tempDbPath(), LB_ADMIN_TOKEN: "editor-site-admin-token-1234" }, { cwd: tmpdir() })
      const page = yield* text(`${lb.url}/admin`)
      if (existsSync(join(BUILT_EDITOR, "index.html"))) {
        expect(page.status).toBe(200)
        expect(page.body).toBe(readFileSync(join(BUILT_EDITOR, "index.html"), "utf8"))
      } else {
        expect(page.status).toBe(503)
      }
      expect(lb.output()).toContain(BUILT_EDITOR)
    }), { timeout: 60_000 })
})
