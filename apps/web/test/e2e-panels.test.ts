/**
 * The editor's side panels end to end: the built balancer serves the built editor at /admin (under its
 * CSP), Chromium signs in and uses `Client tokens`, `Audit log` and `Operations` from the toolbar.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Balancer, type BrowserSession, openBrowser, signIn, startBalancer } from "./editor-harness.js"

const SLOW = 120_000

describe("editor panels in Chromium against the built balancer", () => {
  let lb: Balancer
  let browser: BrowserSession

  beforeAll(async () => {
    lb = await startBalancer()
    await lb.admin("POST", "/incoming-blocks", { name: "team-a" })
    browser = await openBrowser({ colorScheme: "light" })
    // Generous waits on conditions: the first load of the page can be slow on a loaded 2-core machine.
    browser.page.setDefaultTimeout(60_000)
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: lb.url })
    await signIn(browser.page, lb.url)
  }, SLOW)

  afterAll(async () => {
    await browser?.close()
    await lb?.close()
  })

  it("creates a client token and shows its secret once, beside Copy; edits its limits and binding; revokes it after Confirm", async () => {
    const { page } = browser
    const panel = page.getByRole("dialog", { name: "Client tokens" })
    await page.getByRole("button", { name: "Client tokens" }).click()
    await panel.getByRole("button", { name: "New token" }).click()
    await panel.getByLabel("Token name").fill("e2e-client")
    await panel.getByLabel("RPM limit").fill("120")
    await panel.getByLabel("TPM limit").fill("50000")
    await panel.getByLabel("Bound block").selectOption({ label: "team-a" })
    await panel.getByRole("button", { name: "Create" }).click()
    const shown = panel.getByTestId("token-secret")
    const secret = (await shown.textContent()) ?? ""
    expect(secret).toMatch(/^sk-/)
    await panel.getByRole("button", { name: "Copy" }).click()
    await panel.getByRole("status").filter({ hasText: "Copied" }).waitFor()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret)

    const listed = await lb.admin<Array<{ name: string; rpm_limit: number; tpm_limit: number; block_id: string }>>("GET", "/tokens")
    expect(listed.body.map((t) => [t.name, t.rpm_limit, t.tpm_limit])).toEqual([["e2e-client", 120, 50000]])
    const models = await fetch(`${lb.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
    expect(models.status).toBe(200)

    await panel.getByRole("button", { name: "Done" }).click()
    await panel.getByRole("button", { name: "Close" }).click()
    await page.getByRole("button", { name: "Client tokens" }).click()
    const item = panel.getByRole("listitem").filter({ hasText: "e2e-client" })
    await item.waitFor()
    expect(await page.content()).not.toContain(secret)

    // Edit the limits and the binding: the form opens with the token's values.
    await item.getByRole("button", { name: "Edit" }).click()
    const form = panel.getByRole("form", { name: "Edit token" })
    expect(await form.getByLabel("RPM limit").inputValue()).toBe("120")
    await form.getByLabel("RPM limit").fill("")
    await form.getByLabel("TPM limit").fill("7000")
    await form.getByLabel("Bound block").selectOption({ label: "None (by path, else default)" })
    await form.getByRole("button", { name: "Save" }).click()
    await form.waitFor({ state: "detached" })
    const edited = await lb.admin<Array<{ rpm_limit: number | null; tpm_limit: number | null; block_id: string | null }>>("GET", "/tokens")
    expect(edited.body.map((t) => [t.rpm_limit, t.tpm_limit, t.block_id])).toEqual([[null, 7000, null]])
    expect(await item.textContent()).toContain("no rpm limit")

    await item.getByRole("button", { name: "Revoke" }).click()
    await page.getByRole("dialog", { name: 'Revoke token "e2e-client"?' }).getByRole("button", { name: "Confirm" }).click()
    await item.waitFor({ state: "detached" })
    expect((await lb.admin("GET", "/tokens")).body).toEqual([])
  }, SLOW)

  it("the audit log shows the entries newest first (switched to from the open tokens panel)", async () => {
    const { page } = browser
    // The drawer opens below the toolbar: its buttons stay clickable while a panel is open.
    await page.getByRole("button", { name: "Audit log" }).click({ timeout: 5000 })
    await page.getByRole("dialog", { name: "Client tokens" }).waitFor({ state: "detached" })
    const entries = page.getByRole("dialog", { name: "Audit log" }).getByRole("list", { name: "Audit entries" }).getByRole("listitem")
    await entries.nth(3).waitFor()
    const texts = await entries.allTextContents()
    const actions = await entries.locator(".ui-badge").allTextContents()
    expect(actions).toEqual(["token.delete", "token.update", "token.create", "incoming_block.create"])
    expect(texts[1]).toContain("rpm_limit120 → null")
    expect(texts[2]).toContain('token "e2e-client"')
    expect(texts[2]).toContain("by 127.0.0.1")
    const health = (await (await fetch(`${lb.url}/health`)).json()) as { replica: string }
    expect(texts[2]).toContain(`on replica ${health.replica}`)
  }, SLOW)

  it("reset stats is confirmed in a dialog by Confirm", async () => {
    const { page } = browser
    await page.getByRole("button", { name: "Operations" }).click({ timeout: 5000 })
    const panel = page.getByRole("dialog", { name: "Operations" })
    await panel.getByRole("button", { name: "Reset stats" }).click()
    await page.getByRole("dialog", { name: "Reset stats?" }).getByRole("button", { name: "Confirm" }).click()
    await panel.getByRole("status").filter({ hasText: "Statistics reset" }).waitFor()
    const audit = await lb.admin<Array<{ action: string }>>("GET", "/audit?limit=1")
    expect(audit.body.map((e) => e.action)).toEqual(["stats.reset"])
    for (const name of ["Clear cache", "Vacuum database", "Back up database"]) {
      expect(await panel.getByRole("button", { name }).count()).toBe(1)
    }
  }, SLOW)

  it("logged no console error (the CSP allowed everything the panels do)", () => {
    expect(browser.errors).toEqual([])
  })
})
