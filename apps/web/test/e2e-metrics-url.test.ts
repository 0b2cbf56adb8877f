/**
 * The inspector's Metrics URL field (issue 13) in Chromium against the built balancer: a URL typed there
 * reaches the endpoint's `metrics_url`, a bad one shows the server's message beside the field, and
 * emptying it returns the endpoint to the default (the base URL's origin + /metrics).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Balancer, type BrowserSession, openBrowser, signIn, startBalancer } from "./editor-harness.js"

describe("inspector Metrics URL", () => {
  let lb: Balancer
  let browser: BrowserSession

  beforeAll(async () => {
    lb = await startBalancer()
    browser = await openBrowser()
  })
  afterAll(async () => {
    await browser?.close()
    await lb?.close()
  })

  const metricsUrlOf = async (name: string) =>
    (await lb.admin<Array<{ name: string; metrics_url: string | null }>>("GET", "/endpoints")).body.find((e) => e.name === name)?.metrics_url
  const eventually = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 15_000
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  it("sets, refuses a bad value of, and clears an endpoint's metrics URL", async () => {
    const { page, errors } = browser
    await signIn(page, lb.url)
    const canvas = page.getByRole("application", { name: "Flow editor" })
    await page.getByRole("button", { name: "New endpoint" }).click()
    await page.getByLabel("Name", { exact: true }).fill("scraped")
    await page.getByLabel("Base URL").fill("http://127.0.0.1:9/v1")
    await page.getByLabel("Metrics URL").fill("http://127.0.0.1:9100/metrics")
    await page.getByRole("button", { name: "Save" }).click()
    await canvas.getByRole("group", { name: "Endpoint scraped" }).waitFor()
    await eventually(async () => (await metricsUrlOf("scraped")) === "http://127.0.0.1:9100/metrics", "the metrics URL saved")

    // the inspector now shows the created endpoint with its URL
    const field = page.getByLabel("Metrics URL")
    expect(await field.inputValue()).toBe("http://127.0.0.1:9100/metrics")
    await field.fill("ftp://127.0.0.1/metrics")
    await page.getByRole("button", { name: "Save" }).click()
    // beside the field: the field's own alert, which its description points at
    const alert = page.getByRole("alert").filter({ hasText: /^metrics_url must use http or https$/ })
    await alert.waitFor()
    expect((await field.getAttribute("aria-describedby"))?.split(" ")).toContain(await alert.getAttribute("id"))
    expect(await metricsUrlOf("scraped")).toBe("http://127.0.0.1:9100/metrics")

    await field.fill("")
    await page.getByRole("button", { name: "Save" }).click()
    await eventually(async () => (await metricsUrlOf("scraped")) === null, "the metrics URL cleared")
    expect(errors.filter((e) => !e.includes("400"))).toEqual([])
  })
})
