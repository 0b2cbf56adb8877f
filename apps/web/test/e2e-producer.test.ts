/**
 * The producer page end to end in Debian's Chromium: the built producer (apps/producer/dist/main.js,
 * serving the built page apps/web/dist/producer) as its own process, upstream simulators as the targets.
 * `LP_SCREENSHOTS=1` also writes docs/producer-dark.png and docs/producer-light.png during a run and
 * prints the page's frame rate with the charts live.
 */
import { describe, expect, it } from "@effect/vitest"
import type { UpstreamSim } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Locator, Page } from "playwright-core"
import { poll, producerProcess, ROOT, sim } from "./producer-support.js"
import { browserPage, launchChromium } from "./ui-support.js"

const chatRequests = (s: UpstreamSim) => s.received().filter((r) => r.path.endsWith("/chat/completions"))

const fill = (card: Locator, label: string, value: string) => card.getByLabel(label, { exact: true }).fill(value)

/** Points a card at a simulator: base URL, model, 2 streams, a long duration (stopped by the test). */
const setUp = async (card: Locator, s: UpstreamSim) => {
  await fill(card, "API base URL", s.baseUrl)
  await fill(card, "Model", "sim-model")
  await fill(card, "Concurrency", "2")
  await fill(card, "Requests", "")
  await fill(card, "Duration (s)", "60")
  await fill(card, "Max tokens", "64")
}

/** The page's frame rate over `ms`, counted with requestAnimationFrame. */
const frameRate = (page: Page, ms: number) =>
  page.evaluate((duration) =>
    new Promise<number>((resolve) => {
      let frames = 0
      const start = performance.now()
      const tick = (now: number) => {
        frames++
        if (now - start < duration) requestAnimationFrame(tick)
        else resolve((frames * 1000) / (now - start))
      }
      requestAnimationFrame(tick)
    }), ms)

describe("the producer page in Chromium", () => {
  it.scopedLive("cards run against simulators: live numbers within 2 s, Stop, CSV of every request, a saved profile after reload, two cards at once", () =>
    Effect.gen(function*() {
      const simA = yield* sim({ outputTokens: 64, interTokenMs: 20 })
      const simB = yield* sim({ outputTokens: 64, interTokenMs: 20 })
      const producer = yield* producerProcess({ LP_DEFAULT_BASE_URL: simA.baseUrl })
      const { page, errors } = yield* browserPage(yield* launchChromium, { colorScheme: "dark" })

      yield* Effect.promise(async () => {
        await page.setViewportSize({ width: 1440, height: 1000 })
        await page.goto(producer.url)
        const card1 = page.getByRole("region", { name: "Card 1" })
        await poll(() => card1.getByLabel("API base URL", { exact: true }).inputValue()).toBe(simA.baseUrl)
        await setUp(card1, simA)
        await poll(() => card1.getByText("idle", { exact: true }).count()).toBe(1)

        await card1.getByRole("button", { name: "Start", exact: true }).click()
        const started = Date.now()
        await card1.getByText(/[1-9][\d.]* tok\/s/).waitFor({ timeout: 10_000 })
        process.stdout.write(`live numbers after ${Date.now() - started} ms\n`)
        expect(Date.now() - started).toBeLessThanOrEqual(2_000)
        await poll(() => card1.getByText("running", { exact: true }).count()).toBe(1)
        expect(await card1.getByText(/req\/s/).count()).toBeGreaterThan(0)
        expect(await card1.getByText(/TTFT p50/).count()).toBeGreaterThan(0)

        // A second card at the same time, against another simulator.
        await page.getByRole("button", { name: "Add card" }).click()
        const card2 = page.getByRole("region", { name: "Card 2" })
        await setUp(card2, simB)
        await card2.getByRole("button", { name: "Start", exact: true }).click()
        await poll(() => card2.getByText("running", { exact: true }).count()).toBe(1)
        await poll(() => simB.counters().running).toBe(2)
        expect(simA.counters().running).toBe(2)

        if (process.env["LP_SCREENSHOTS"] === "1") {
          await page.waitForTimeout(3_000)
          const fps = await frameRate(page, 5_000)
          process.stdout.write(`producer page: ${fps.toFixed(1)} frames/s with 2 cards running and the charts live\n`)
          await page.screenshot({ path: join(ROOT, "docs/producer-dark.png"), fullPage: false })
          await page.emulateMedia({ colorScheme: "light" })
          await page.waitForTimeout(1_500)
          await page.screenshot({ path: join(ROOT, "docs/producer-light.png"), fullPage: false })
        }

        await card1.getByRole("button", { name: "Stop", exact: true }).click()
        await poll(() => card1.getByText("stopped", { exact: true }).count()).toBe(1)

        const download = page.waitForEvent("download")
        await card1.getByRole("button", { name: "Export CSV" }).click()
        const csv = readFileSync(await (await download).path(), "utf8").trim().split("\n")
        expect(csv[0]).toMatch(/^request_id,/)
        const sent = chatRequests(simA).map((r) => r.headers["x-request-id"]).sort()
        expect(csv.slice(1).map((line) => line.split(",")[0]).sort()).toEqual(sent)

        await card1.getByRole("button", { name: "Save profile" }).click()
        await page.getByLabel("Profile name").fill("e2e profile")
        await page.getByRole("button", { name: "Save", exact: true }).click()
        await poll(() => card1.getByRole("option", { name: "e2e profile" }).count()).toBe(1)

        await card2.getByRole("button", { name: "Stop", exact: true }).click()
        await poll(() => card2.getByText("stopped", { exact: true }).count()).toBe(1)

        await page.reload()
        const again = page.getByRole("region", { name: "Card 1" })
        await poll(() => again.getByRole("option", { name: "e2e profile" }).count()).toBe(1)
        await poll(() => again.getByText("stopped", { exact: true }).count()).toBe(1)
      })
      expect(errors).toEqual([])
    }), 120_000)
})
