/**
 * The sign-in form and the panels in Chromium, on the real admin API of the built balancer: sign in,
 * create a client token and see its secret once (and copy it), revoke it, read the audit log, reset
 * the stats behind `Confirm`; the `Connection lost` banner while the balancer is away, and back to
 * sign-in when the token stops working.
 */
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { spawnBalancer } from "../../balancer/test/support/Process.js"
import { freePort } from "./api-support.js"
import { browserPage, fixtureBuilt, fixtureServer, launchChromium } from "./ui-support.js"

const ADMIN_TOKEN = "web-browser-token-0123456789"
const SLOW = 180_000

const run = <A>(f: () => Promise<A>) => Effect.promise(f)

/** One Chromium for the file; each test gets a fresh context (a new profile: empty storage). */
class Chromium extends Context.Tag("Chromium")<Chromium, Browser>() {}

/** A balancer on a fixed port (so it can come back there), the fixture app proxied to it, a page. */
const app = Effect.gen(function*() {
  const port = String(yield* run(freePort))
  const env = { LB_PORT: port, LB_DB_PATH: join(mkdtempSync(join(tmpdir(), "web-browser-")), "lb.db"), LB_ADMIN_TOKEN: ADMIN_TOKEN }
  const lb = yield* spawnBalancer(env)
  const fixture = yield* fixtureServer(lb.url)
  const { page, errors } = yield* browserPage(yield* Chromium)
  yield* run(() => page.goto(`${fixture.url}/?view=app`))
  return { lb, env, page, errors }
})

const signIn = (page: Page) =>
  run(async () => {
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("button", { name: "Client tokens" }).waitFor()
  })

layer(Layer.scoped(Chromium, Effect.zipRight(fixtureBuilt, launchChromium)), { timeout: 300_000 })("sign-in and panels in Chromium", (it) => {
  it.scoped("signs in with the admin token, showing the server's refusal of a wrong one", () =>
    Effect.gen(function*() {
      const { page, errors } = yield* app
      const field = page.getByLabel("Admin token")
      expect(yield* run(() => field.getAttribute("type"))).toBe("password")
      yield* run(async () => {
        await field.fill("not-the-token-0123456789")
        await page.getByRole("button", { name: "Sign in" }).click()
        await page.getByText("missing or invalid X-Admin-Token").waitFor()
      })
      expect(yield* run(() => field.getAttribute("aria-invalid"))).toBe("true")
      yield* signIn(page)
      yield* run(() => page.locator("#connection", { hasText: "open live" }).waitFor())
      expect(yield* run(() => page.evaluate(() => sessionStorage.getItem("llmlb.adminToken")))).toBe(ADMIN_TOKEN)
      // The refused sign-in's 401 is the only console error (the browser logs failed requests).
      expect(errors.filter((e) => !e.includes("401"))).toEqual([])
    }), SLOW)

  it.scoped("creates a client token, shows its secret once with Copy, revokes it after Confirm", () =>
    Effect.gen(function*() {
      const { lb, page } = yield* app
      yield* run(() =>
        fetch(`${lb.url}/admin/api/incoming-blocks`, {
          method: "POST",
          headers: { "x-admin-token": ADMIN_TOKEN, "content-type": "application/json" },
          body: JSON.stringify({ name: "team-a" })
        })
      )
      yield* signIn(page)
      const panel = page.getByRole("dialog", { name: "Client tokens" })
      const secret = yield* run(async () => {
        await page.getByRole("button", { name: "Client tokens" }).click()
        await panel.getByRole("button", { name: "New token" }).click()
        await panel.getByLabel("Token name").fill("ci-runner")
        await panel.getByLabel("RPM limit").fill("60")
        await panel.getByLabel("TPM limit").fill("20000")
        await panel.getByLabel("Bound block").selectOption({ label: "team-a" })
        await panel.getByRole("button", { name: "Create" }).click()
        const shown = panel.getByTestId("token-secret")
        await shown.waitFor()
        return (await shown.textContent()) ?? ""
      })
      expect(secret).toMatch(/^sk-/)
      const copied = yield* run(async () => {
        await panel.getByRole("button", { name: "Copy" }).click()
        await panel.getByRole("status").filter({ hasText: "Copied" }).waitFor()
        return page.evaluate(() => navigator.clipboard.readText())
      })
      expect(copied).toBe(secret)
      const item = panel.getByRole("listitem").filter({ hasText: "ci-runner" })
      const meta = yield* run(() => item.textContent())
      expect(meta).toContain("60 rpm")
      expect(meta).toContain("20,000 tpm")
      expect(meta).toContain("block: team-a")

      // Once dismissed, and after closing and reopening the panel, the secret is nowhere on the page.
      yield* run(async () => {
        await panel.getByRole("button", { name: "Done" }).click()
        await panel.getByRole("button", { name: "Close" }).click()
        await page.getByRole("button", { name: "Client tokens" }).click()
        await item.waitFor()
      })
      expect(yield* run(() => page.content())).not.toContain(secret)

      yield* run(async () => {
        await item.getByRole("button", { name: "Revoke" }).click()
        await page.getByRole("dialog", { name: 'Revoke token "ci-runner"?' }).getByRole("button", { name: "Confirm" }).click()
        await item.waitFor({ state: "detached" })
      })
      const listed = yield* run(() =>
        fetch(`${lb.url}/admin/api/tokens`, { headers: { "x-admin-token": ADMIN_TOKEN } }).then((r) => r.json())
      )
      expect(listed).toEqual([])
    }), SLOW)

  it.scoped("the audit log shows the changes newest first, with time, action, target, fields and address", () =>
    Effect.gen(function*() {
      const { lb, page } = yield* app
      const post = (path: string, body: unknown) =>
        run(() =>
          fetch(`${lb.url}/admin/api${path}`, {
            method: "POST",
            headers: { "x-admin-token": ADMIN_TOKEN, "content-type": "application/json" },
            body: JSON.stringify(body)
          })
        )
      yield* post("/endpoints", { name: "gpu-a", base_url: "http://127.0.0.1:9/v1" })
      yield* post("/tokens", { name: "svc", rpm_limit: 10 })
      yield* signIn(page)
      const entries = page.getByRole("dialog", { name: "Audit log" }).getByRole("list", { name: "Audit entries" }).getByRole("listitem")
      yield* run(async () => {
        await page.getByRole("button", { name: "Audit log" }).click()
        await entries.nth(1).waitFor()
      })
      const texts = yield* run(() => entries.allTextContents())
      expect(texts).toHaveLength(2)
      expect(texts[0]).toContain("token.create")
      expect(texts[0]).toContain('token "svc"')
      expect(texts[0]).toContain("rpm_limit10")
      expect(texts[0]).toContain("[redacted]")
      expect(texts[0]).toContain("by 127.0.0.1")
      expect(texts[1]).toContain("endpoint.create")
      expect(texts[1]).toContain('endpoint "gpu-a"')
      expect(yield* run(() => entries.first().locator("time").getAttribute("datetime"))).toMatch(/^\d{4}-\d\d-\d\dT/)
    }), SLOW)

  it.scoped("reset stats runs only after Confirm and says so", () =>
    Effect.gen(function*() {
      const { lb, page } = yield* app
      yield* signIn(page)
      const panel = page.getByRole("dialog", { name: "Operations" })
      for (const name of ["Reset stats", "Clear cache", "Vacuum database", "Back up database"]) {
        expect(yield* run(async () => {
          if (!(await panel.isVisible())) await page.getByRole("button", { name: "Operations" }).click()
          return panel.getByRole("button", { name }).count()
        })).toBe(1)
      }
      yield* run(async () => {
        await panel.getByRole("button", { name: "Reset stats" }).click()
        await page.getByRole("dialog", { name: "Reset stats?" }).getByRole("button", { name: "Cancel" }).click()
      })
      const audit = () =>
        run(() => fetch(`${lb.url}/admin/api/audit`, { headers: { "x-admin-token": ADMIN_TOKEN } }).then((r) => r.json() as Promise<Array<{ action: string }>>))
      expect(yield* audit()).toEqual([])
      yield* run(async () => {
        await panel.getByRole("button", { name: "Reset stats" }).click()
        await page.getByRole("dialog", { name: "Reset stats?" }).getByRole("button", { name: "Confirm" }).click()
        await panel.getByRole("status").filter({ hasText: "Statistics reset" }).waitFor()
      })
      expect((yield* audit()).map((e) => e.action)).toEqual(["stats.reset"])
    }), SLOW)

  it.scoped("shows Connection lost while the balancer is away, until the stream is back", () =>
    Effect.gen(function*() {
      const { lb, env, page } = yield* app
      yield* signIn(page)
      yield* run(() => page.locator("#connection", { hasText: "open live" }).waitFor())
      lb.child.kill("SIGKILL")
      yield* run(() => lb.exited)
      yield* run(() => page.getByRole("alert").filter({ hasText: "Connection lost" }).waitFor())
      // Back on the same port, with the same token: the stream reconnects and the banner goes.
      yield* spawnBalancer(env)
      yield* run(() => page.getByText("Connection lost").waitFor({ state: "detached", timeout: 30_000 }))
    }), SLOW)

  it.scoped("a 401 (the admin token changed) returns to the sign-in form", () =>
    Effect.gen(function*() {
      const { lb, env, page } = yield* app
      yield* signIn(page)
      lb.child.kill("SIGKILL")
      yield* run(() => lb.exited)
      yield* spawnBalancer({ ...env, LB_ADMIN_TOKEN: "a-new-admin-token-0123456789" })
      yield* run(() => page.getByLabel("Admin token").waitFor({ timeout: 30_000 }))
      expect(yield* run(() => page.evaluate(() => sessionStorage.getItem("llmlb.adminToken")))).toBeNull()
    }), SLOW)
})
