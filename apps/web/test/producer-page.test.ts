/**
 * The producer page's dashboard, history and token prompt in Chromium, against the built producer and a
 * simulator (runs started through the API, as another tab or a script would).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { poll, producerProcess, sim } from "./producer-support.js"
import { browserPage, launchChromium } from "./ui-support.js"

const TOKEN = "lp-e2e-token-0123456789"

/** Starts a run through the API and waits until it has ended; answers its id. */
const runToEnd = (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const res = await fetch(`${url}/api/runs`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })
    const { id } = (await res.json()) as { id: number }
    for (let i = 0; i < 300; i++) {
      const run = (await (await fetch(`${url}/api/runs/${id}`, { headers })).json()) as { status: string }
      if (run.status !== "running") return id
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`run ${id} did not end`)
  })

describe("the producer page: dashboard, history, token", () => {
  it.scopedLive("a finished run shows vLLM's figures, its endpoints and its requests (filtered by status, a row opens its timings); two runs compare", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 8, fault: { kind: "status", status: 500, every: 3 } })
      const producer = yield* producerProcess({ LP_DEFAULT_BASE_URL: s.baseUrl })
      const first = yield* runToEnd(producer.url, { base_url: s.baseUrl, model: "sim-model", concurrency: 1, requests: 9, label: "faulty" })
      s.set({ fault: { kind: "none" } })
      const second = yield* runToEnd(producer.url, { base_url: s.baseUrl, model: "sim-model", concurrency: 1, requests: 6, label: "healthy" })
      const { page, errors } = yield* browserPage(yield* launchChromium)

      yield* Effect.promise(async () => {
        await page.goto(producer.url)
        await page.getByRole("button", { name: `Show run ${first}` }).click()
        const dashboard = page.getByRole("region", { name: "Dashboard" })
        await poll(() => dashboard.getByRole("heading", { name: `Run ${first} · faulty` }).count()).toBe(1)
        const summary = dashboard.getByRole("table", { name: "Summary" })
        await poll(() => summary.getByRole("row", { name: /median_ttft_ms/ }).count()).toBe(1)
        expect(await summary.getByRole("row", { name: /^completed 6 / }).count()).toBe(1)
        expect(await summary.getByRole("row", { name: /^failed 3 / }).count()).toBe(1)
        expect(await dashboard.getByRole("table", { name: "Endpoints" }).getByRole("row").count()).toBe(2) // header + "(none)"

        const requests = dashboard.getByRole("list", { name: "Requests" })
        await poll(() => requests.getByRole("listitem").count()).toBe(9)
        await dashboard.getByLabel("Status filter").selectOption("errors")
        await poll(() => requests.getByRole("listitem").count()).toBe(3)
        await requests.getByRole("listitem").first().click()
        const timings = page.getByRole("dialog", { name: "Request timings" })
        expect(await timings.getByText("500 failed").count()).toBe(1)
        await timings.getByRole("button", { name: "Close" }).first().click()

        await page.getByRole("checkbox", { name: `Compare run ${first}` }).check()
        await page.getByRole("checkbox", { name: `Compare run ${second}` }).check()
        await page.getByRole("button", { name: "Compare runs" }).click()
        const compared = page.getByRole("table", { name: "Compared figures" })
        await poll(() => compared.getByRole("row", { name: /^failed 3 0 -100\.0 %$/ }).count()).toBe(1)
        expect(await compared.getByRole("row", { name: /^completed 6 6 \+0\.0 %$/ }).count()).toBe(1)
      })
      expect(errors).toEqual([])
    }), 90_000)

  it.scopedLive("with LP_TOKEN the page asks for it once, then runs a card with its live feed", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 64, interTokenMs: 20 })
      const producer = yield* producerProcess({ LP_TOKEN: TOKEN, LP_DEFAULT_BASE_URL: s.baseUrl })
      const { page, errors } = yield* browserPage(yield* launchChromium)

      yield* Effect.promise(async () => {
        await page.goto(producer.url)
        const dialog = page.getByRole("dialog", { name: "Access token" })
        await dialog.getByLabel("LP_TOKEN").fill(TOKEN)
        await dialog.getByRole("button", { name: "Sign in" }).click()
        await poll(() => page.getByRole("dialog", { name: "Access token" }).count()).toBe(0)
        const card = page.getByRole("region", { name: "Card 1" })
        await card.getByLabel("API base URL", { exact: true }).fill(s.baseUrl)
        await card.getByLabel("Requests", { exact: true }).fill("")
        await card.getByLabel("Duration (s)", { exact: true }).fill("3")
        await card.getByRole("button", { name: "Start", exact: true }).click()
        await card.getByText(/[1-9][\d.]* tok\/s/).waitFor({ timeout: 10_000 })
        await poll(() => card.getByText("done", { exact: true }).count()).toBe(1)
        await page.reload()
        // The token is remembered: no prompt again.
        await poll(() => page.getByRole("region", { name: "Card 1" }).getByText("done", { exact: true }).count()).toBe(1)
        expect(await page.getByRole("dialog", { name: "Access token" }).count()).toBe(0)
      })
      // Only the refused calls before the token was given.
      expect(errors.filter((e) => !/401/.test(e))).toEqual([])
    }), 90_000)

  it.scopedLive("a profile saved while the server is unreachable stays in the browser and is uploaded once it is back", () =>
    Effect.gen(function*() {
      const s = yield* sim({ outputTokens: 4 })
      const producer = yield* producerProcess({ LP_DEFAULT_BASE_URL: s.baseUrl })
      const { page, errors } = yield* browserPage(yield* launchChromium)

      yield* Effect.promise(async () => {
        await page.goto(producer.url)
        const card = page.getByRole("region", { name: "Card 1" })
        await poll(() => card.getByRole("option", { name: /Smoke test/ }).count()).toBe(1)
        // The server goes away (as far as the page can tell).
        await page.route("**/api/**", (route) => route.abort("connectionrefused"))
        await card.getByRole("button", { name: "Save profile" }).click()
        await page.getByLabel("Profile name").fill("kept offline")
        await page.getByRole("button", { name: "Save", exact: true }).click()
        await poll(() => page.getByText(/cannot be reached/).count()).toBeGreaterThan(0)
        await poll(() => card.getByRole("option", { name: "kept offline (this browser)" }).count()).toBe(1)

        await page.unroute("**/api/**")
        await page.getByRole("button", { name: "Retry" }).click()
        await page.getByRole("button", { name: "Upload saved profiles" }).click()
        await poll(() => card.getByRole("option", { name: "kept offline", exact: true }).count()).toBe(1)
        expect(await card.getByRole("option", { name: "kept offline (this browser)" }).count()).toBe(0)
        const saved = (await (await fetch(`${producer.url}/api/profiles`)).json()) as Array<{ name: string }>
        expect(saved.map((p) => p.name)).toEqual(["kept offline"])
      })
      // Only the calls refused while the server was away.
      expect(errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to fetch/.test(e))).toEqual([])
    }), 90_000)
})
