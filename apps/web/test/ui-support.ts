/**
 * Browser tests of the kit and the panels: the fixture page (ui-fixture/) built by Vite once per test
 * file, served on 127.0.0.1 by the balancer's own static handler (so under its CSP: 'self' only), its
 * /admin/api proxied to a balancer when one is given, in Debian's Chromium.
 */
import { Effect } from "effect"
import { createServer, request, type Server } from "node:http"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, type BrowserContext, chromium, type ConsoleMessage, type Page } from "playwright-core"
import { build } from "vite"
import solid from "vite-plugin-solid"
import { serveStatic } from "../../../packages/static/src/index.js"

const FIXTURE = fileURLToPath(new URL("./ui-fixture", import.meta.url))

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

let built: Promise<string> | undefined
/** The fixture page built to a temp directory (once per test file). */
const buildFixture = () =>
  (built ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), "web-ui-fixture-"))
    await build({
      configFile: false,
      root: FIXTURE,
      logLevel: "error",
      plugins: [solid()],
      build: { outDir, emptyOutDir: true, modulePreload: { polyfill: false }, assetsInlineLimit: 0, minify: false }
    })
    return outDir
  })())

/** Builds the fixture page ahead (in a layer, under the hook's timeout rather than a test's). */
export const fixtureBuilt = Effect.promise(buildFixture)

/** Pipes a request to the balancer (the fixture's same-origin /admin/api, as the balancer serves the editor). */
const proxyTo = (target: string) => (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
  const url = new URL(req.url ?? "/", target)
  const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers)
    answer.pipe(res)
  })
  upstream.on("error", () => res.writeHead(502).end())
  res.on("close", () => upstream.destroy())
  req.pipe(upstream)
}

/** The fixture page's server; `admin` = the balancer its /admin/api goes to. */
export const fixtureServer = (admin?: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const root = await buildFixture()
      const files = serveStatic({ root, basePath: "/" })
      const proxy = admin === undefined ? undefined : proxyTo(admin)
      const server: Server = createServer((req, res) => {
        if (proxy !== undefined && (req.url ?? "").startsWith("/admin/api/")) return proxy(req, res)
        if (!files(req, res)) res.writeHead(404).end()
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const address = server.address()
      if (typeof address !== "object" || address === null) throw new Error("the fixture server is not listening")
      return { server, url: `http://127.0.0.1:${address.port}` }
    }),
    ({ server }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      )
  )

export interface BrowserPage {
  readonly page: Page
  readonly context: BrowserContext
  /** Console errors and uncaught exceptions of the page. */
  readonly errors: Array<string>
}

/** Chromium, launched once per test file. */
export const launchChromium = Effect.acquireRelease(
  Effect.promise(() => chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS })),
  (browser) => Effect.promise(() => browser.close())
)

/** A fresh context (its own storage: a new profile) and one page; closed with the scope. */
export const browserPage = (browser: Browser, options: { readonly colorScheme?: "dark" | "light" } = {}) =>
  Effect.gen(function*() {
    const context = yield* Effect.acquireRelease(
      Effect.promise(() =>
        browser.newContext({ colorScheme: options.colorScheme ?? "light", permissions: ["clipboard-read", "clipboard-write"] })
      ),
      (c) => Effect.promise(() => c.close())
    )
    const page = yield* Effect.promise(() => context.newPage())
    // Waits are on conditions; generous, since Chromium on a loaded 2-core machine can be slow.
    page.setDefaultTimeout(45_000)
    const errors: Array<string> = []
    page.on("console", (message: ConsoleMessage) => {
      if (message.type() === "error") errors.push(message.text())
    })
    page.on("pageerror", (error) => errors.push(error.message))
    return { page, context, errors } satisfies BrowserPage
  })
