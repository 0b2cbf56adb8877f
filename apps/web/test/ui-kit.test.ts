/**
 * The UI kit in Chromium: labels bound to their controls, errors tied to fields, dialogs with a focus
 * trap and Escape, the confirm dialog's `Confirm`, the side panel, toasts, and the theme (system
 * default, persisted toggle).
 */
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import type { Browser } from "playwright-core"
import { browserPage, fixtureServer, launchChromium } from "./ui-support.js"

/** The fixture's server and Chromium, shared by the tests of this file. */
class Kit extends Context.Tag("Kit")<Kit, { readonly url: string; readonly browser: Browser }>() {}
const KitLive = Layer.scoped(
  Kit,
  Effect.all({ url: Effect.map(fixtureServer(), (f) => f.url), browser: launchChromium })
)

const kit = (options: { readonly colorScheme?: "dark" | "light" } = {}) =>
  Effect.gen(function*() {
    const { url, browser } = yield* Kit
    const opened = yield* browserPage(browser, options)
    yield* Effect.promise(() => opened.page.goto(`${url}/?view=kit`))
    yield* Effect.promise(() => opened.page.getByRole("button", { name: "Toggle theme" }).waitFor())
    return opened
  })

/** Per test: Chromium on a loaded 2-core machine can be slow to start a page. */
const SLOW = 90_000

const values = (page: import("playwright-core").Page) =>
  Effect.promise(async () => JSON.parse((await page.locator("#values").textContent()) ?? "{}"))

layer(KitLive, { timeout: 300_000 })("UI kit in Chromium", (it) => {
  it.scoped("fields are reachable by their labels and report their values", () =>
    Effect.gen(function*() {
      const { page, errors } = yield* kit()
      yield* Effect.promise(async () => {
        await page.getByLabel("Name").fill("gpu-a")
        await page.getByLabel("Limit").fill("120")
        await page.getByLabel("Mode").selectOption("priority")
        await page.getByRole("switch", { name: "Active" }).click()
      })
      expect(yield* values(page)).toMatchObject({ name: "gpu-a", limit: 120, mode: "priority", on: false })
      yield* Effect.promise(() => page.getByLabel("Limit").fill(""))
      expect((yield* values(page)).limit).toBeNull()
      expect(errors.join("\n")).toBe("")
    }), SLOW)

  it.scoped("an error is shown under its field and announced as its description", () =>
    Effect.gen(function*() {
      const { page } = yield* kit()
      const field = page.getByLabel("Name")
      yield* Effect.promise(() => field.fill("bad"))
      expect(yield* Effect.promise(() => field.getAttribute("aria-invalid"))).toBe("true")
      const describedBy = yield* Effect.promise(() => field.getAttribute("aria-describedby"))
      expect(yield* Effect.promise(() => page.locator(`#${describedBy}`).textContent())).toBe("name must not be bad")
      yield* Effect.promise(() => field.fill("good"))
      expect(yield* Effect.promise(() => field.getAttribute("aria-invalid"))).toBeNull()
    }), SLOW)

  it.scoped("a dialog is modal, keeps Tab inside, closes on Escape and gives focus back", () =>
    Effect.gen(function*() {
      const { page } = yield* kit()
      const opener = page.getByRole("button", { name: "Open dialog" })
      yield* Effect.promise(() => opener.click())
      const dialog = page.getByRole("dialog", { name: "Edit thing" })
      expect(yield* Effect.promise(() => dialog.getAttribute("aria-modal"))).toBe("true")
      /** The focused element as people read it: its label's text, else its own text. */
      const focused = () =>
        Effect.promise(() =>
          page.evaluate(() => {
            const active = document.activeElement as HTMLInputElement | null
            return active?.labels?.[0]?.textContent ?? active?.textContent ?? ""
          })
        )
      expect(yield* focused()).toBe("First")
      yield* Effect.promise(() => page.keyboard.press("Tab"))
      expect(yield* focused()).toBe("Second")
      yield* Effect.promise(() => page.keyboard.press("Tab"))
      expect(yield* focused()).toBe("Close dialog")
      yield* Effect.promise(() => page.keyboard.press("Tab"))
      expect(yield* focused()).toBe("First")
      yield* Effect.promise(() => page.keyboard.press("Shift+Tab"))
      expect(yield* focused()).toBe("Close dialog")
      yield* Effect.promise(() => page.keyboard.press("Escape"))
      yield* Effect.promise(() => dialog.waitFor({ state: "detached" }))
      expect(yield* focused()).toBe("Open dialog")
    }), SLOW)

  it.scoped("the confirm dialog runs its action on `Confirm` only", () =>
    Effect.gen(function*() {
      const { page } = yield* kit()
      /** Opens the dialog and answers it with the named button. */
      const answer = (button: "Cancel" | "Confirm") =>
        Effect.promise(async () => {
          await page.getByRole("button", { name: "Ask" }).click()
          await page.getByRole("dialog", { name: "Do it?" }).getByRole("button", { name: button }).click()
          await page.getByRole("dialog").waitFor({ state: "detached" })
        })
      yield* answer("Cancel")
      expect((yield* values(page)).confirmed).toBe(0)
      yield* answer("Confirm")
      expect((yield* values(page)).confirmed).toBe(1)
    }), SLOW)

  it.scoped("the side panel has its title and a Close button, and Escape closes it", () =>
    Effect.gen(function*() {
      const { page } = yield* kit()
      yield* Effect.promise(async () => {
        await page.getByRole("button", { name: "Open panel" }).click()
        const panel = page.getByRole("dialog", { name: "Side things" })
        await panel.getByRole("button", { name: "Close" }).click()
        await panel.waitFor({ state: "detached" })
        await page.getByRole("button", { name: "Open panel" }).click()
        await panel.getByRole("button", { name: "Inside" }).focus()
        await page.keyboard.press("Escape")
        await panel.waitFor({ state: "detached" })
      })
    }), SLOW)

  it.scoped("toasts show as a status message", () =>
    Effect.gen(function*() {
      const { page } = yield* kit()
      yield* Effect.promise(() => page.getByRole("button", { name: "Toast" }).click())
      expect(yield* Effect.promise(() => page.getByRole("status").filter({ hasText: "Saved" }).count())).toBe(1)
    }), SLOW)

  it.scoped("the theme follows the system until toggled, and the choice survives a reload", () =>
    Effect.gen(function*() {
      const { page } = yield* kit({ colorScheme: "dark" })
      const theme = () => Effect.promise(() => page.evaluate(() => document.documentElement.dataset["theme"]))
      const background = () => Effect.promise(() => page.evaluate(() => getComputedStyle(document.body).backgroundColor))
      expect(yield* theme()).toBe("dark")
      expect(yield* background()).toBe("rgb(11, 11, 12)")
      yield* Effect.promise(() => page.getByRole("button", { name: "Toggle theme" }).click())
      expect(yield* theme()).toBe("light")
      expect(yield* background()).toBe("rgb(255, 255, 255)")
      yield* Effect.promise(async () => {
        await page.reload()
        await page.getByRole("button", { name: "Toggle theme" }).waitFor()
      })
      expect(yield* theme()).toBe("light")
      expect(yield* Effect.promise(() => page.evaluate(() => localStorage.getItem("llmlb.theme")))).toBe("light")
    }), SLOW)
})
