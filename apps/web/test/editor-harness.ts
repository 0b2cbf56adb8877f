/**
 * What the editor's browser tests run against: the built balancer (apps/balancer/dist/main.js serving
 * apps/web/dist/editor) on a free port of 127.0.0.1, simulated upstreams, and Debian's Chromium
 * through playwright-core with a fresh profile. Everything is torn down by `close()`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { startSim, type UpstreamSim } from "@llmlb/upstream-sim"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { CHROMIUM_ARGS } from "./ui-support.js"

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
export const BALANCER_MAIN = here("../../balancer/dist/main.js")
export const EDITOR_DIST = here("../dist/editor")
export const ADMIN_TOKEN = "e2e-admin-token-0123456789"


export interface Balancer {
  readonly url: string
  readonly output: () => string
  readonly admin: <A = unknown>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: A }>
  readonly close: () => Promise<void>
}

export const startBalancer = async (env: Record<string, string> = {}): Promise<Balancer> => {
  const dir = mkdtempSync(join(tmpdir(), "lb-editor-e2e-"))
  const child: ChildProcess = spawn(process.execPath, [BALANCER_MAIN], {
    env: {
      PATH: process.env.PATH ?? "",
      LB_PORT: "0",
      LB_HOST: "127.0.0.1",
      LB_DB_PATH: join(dir, "lb.db"),
      LB_ADMIN_TOKEN: ADMIN_TOKEN,
      LB_WEB_DIR: EDITOR_DIST,
      LB_ADMIN_RATE_LIMIT_RPM: "100000",
      LB_MODELS_REFRESH_SECONDS: "2",
      ...env
    }
  })
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`balancer did not start:\n${output}`)), 30_000)
    child.stdout!.on("data", () => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(`http://127.0.0.1:${match[1]}`)
      }
    })
    void exited.then(() => reject(new Error(`balancer exited:\n${output}`)))
  })
  const admin = async <A,>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/admin/api${path}`, {
      method,
      headers: { "x-admin-token": ADMIN_TOKEN, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as A }
  }
  return {
    url,
    output: () => output,
    admin,
    close: async () => {
      if (child.exitCode === null) child.kill("SIGKILL")
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export const startSims = (count: number, options: Parameters<typeof startSim>[0] = {}): Promise<Array<UpstreamSim>> =>
  Promise.all(Array.from({ length: count }, () => startSim({ ttftMs: 20, interTokenMs: 10, outputTokens: 24, ...options })))

export interface BrowserSession {
  readonly browser: Browser
  readonly context: BrowserContext
  readonly page: Page
  /** Console errors and uncaught page errors so far. */
  readonly errors: Array<string>
  readonly close: () => Promise<void>
}

export const openBrowser = async (options: { colorScheme?: "dark" | "light" } = {}): Promise<BrowserSession> => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS })
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: options.colorScheme ?? "dark" })
  const page = await context.newPage()
  const errors: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text())
  })
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`))
  return {
    browser,
    context,
    page,
    errors,
    close: async () => {
      await context.close()
      await browser.close()
    }
  }
}

/** Signs in on the editor page with the admin token. */
export const signIn = async (page: Page, baseUrl: string) => {
  await page.goto(`${baseUrl}/admin`)
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN)
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.getByRole("application", { name: "Flow editor" }).waitFor()
}

/** The centre of an element in page pixels, once it has stopped moving (a fit-view animation ends). */
export const centreOf = async (page: Page, locator: ReturnType<Page["locator"]>) => {
  let last = ""
  for (let i = 0; i < 100; i++) {
    const box = await locator.boundingBox()
    if (box === null) throw new Error("element not visible")
    const now = JSON.stringify(box)
    if (now === last) return { x: box.x + box.width / 2, y: box.y + box.height / 2 }
    last = now
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
  }
  throw new Error("element kept moving")
}

/** Resolves once no CSS transition is running (a theme switch fades colours for a moment). */
export const transitionsSettled = (page: Page) =>
  page.waitForFunction(() => document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState === "finished"))
