/**
 * The flow editor end to end in Chromium, against the built balancer and two simulated upstreams:
 * sign in, create two endpoints through the UI, wire one with the mouse, send chat requests with the
 * openai client and see only the wired one serve them and its node show tok/s, switch the routing
 * mode, delete the wire with the keyboard, undo it, move a node and reload, and no console error on
 * the way. Writes docs/editor-dark.png and docs/editor-light.png with live traffic.
 */
import type { UpstreamSim } from "@llmlb/upstream-sim"
import OpenAI from "openai"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Balancer,
  type BrowserSession,
  centreOf,
  openBrowser,
  signIn,
  startBalancer,
  startSims,
  transitionsSettled
} from "./editor-harness.js"

const docs = (name: string) => fileURLToPath(new URL(`../../../docs/${name}`, import.meta.url))

interface Endpoint {
  readonly id: string
  readonly name: string
  readonly connected: boolean
  readonly pos_x: number
  readonly pos_y: number
}

describe("flow editor in Chromium", () => {
  let sims: Array<UpstreamSim> = []
  let lb: Balancer
  let browser: BrowserSession
  let stopTraffic = async () => {}

  beforeAll(async () => {
    sims = await startSims(2)
    lb = await startBalancer()
    browser = await openBrowser({ colorScheme: "dark" })
  })
  afterAll(async () => {
    await stopTraffic()
    await browser?.close()
    await lb?.close()
    await Promise.all(sims.map((s) => s.close()))
  })

  const endpoints = async () => (await lb.admin<Array<Endpoint>>("GET", "/endpoints")).body
  const byName = async (name: string) => (await endpoints()).find((e) => e.name === name)
  /** Polls an admin-side condition (the UI's calls are asynchronous). */
  const eventually = async (check: () => Promise<boolean>, what: string, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await check()) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`timed out waiting for ${what}`)
  }

  it("wires, serves traffic, switches mode, deletes and undoes a wire, and keeps positions over a reload", async () => {
    const { page, errors } = browser
    await signIn(page, lb.url)
    const canvas = page.getByRole("application", { name: "Flow editor" })
    await canvas.getByRole("group", { name: "Incoming block default" }).waitFor()

    // two endpoints through the inspector's create form
    for (const [name, sim] of [["gpu-a", sims[0]!], ["gpu-b", sims[1]!]] as const) {
      await page.getByRole("button", { name: "New endpoint" }).click()
      await page.getByLabel("Name", { exact: true }).fill(name)
      await page.getByLabel("Base URL").fill(sim.baseUrl)
      await page.getByRole("button", { name: "Save" }).click()
      await canvas.getByRole("group", { name: `Endpoint ${name}` }).waitFor()
    }
    const nodeA = canvas.getByRole("group", { name: "Endpoint gpu-a" })
    const nodeB = canvas.getByRole("group", { name: "Endpoint gpu-b" })
    // move the second one with the mouse: its position is saved on the drop
    const before = (await byName("gpu-b"))!
    const bAt = await centreOf(page, nodeB)
    await page.mouse.move(bAt.x, bAt.y)
    await page.mouse.down()
    await page.mouse.move(bAt.x + 40, bAt.y + 60, { steps: 4 })
    await page.mouse.move(bAt.x + 120, bAt.y + 100, { steps: 8 })
    await page.mouse.up()
    await eventually(async () => {
      const after = (await byName("gpu-b"))!
      return after.pos_x > before.pos_x && after.pos_y > before.pos_y
    }, "gpu-b's new position")

    // wire default -> gpu-a with the mouse, from the output port to the input port
    const from = await centreOf(page, page.getByRole("button", { name: "Output of default" }))
    const to = await centreOf(page, page.getByRole("button", { name: "Input of gpu-a" }))
    await page.mouse.move(from.x, from.y)
    await page.mouse.down()
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 6 })
    await page.mouse.move(to.x, to.y, { steps: 6 })
    await page.mouse.up()
    await canvas.getByRole("button", { name: "Wire default to gpu-a", exact: true }).waitFor()
    await eventually(async () => (await byName("gpu-a"))!.connected, "gpu-a connected")
    expect((await byName("gpu-b"))!.connected).toBe(false)

    // traffic through the balancer: only the wired endpoint serves it, and its node shows tok/s
    const client = new OpenAI({ baseURL: `${lb.url}/v1`, apiKey: "unused", maxRetries: 0 })
    const chat = () =>
      client.chat.completions.create({ model: "sim-model", messages: [{ role: "user", content: "Hello there" }], max_tokens: 24 })
    const traffic = { on: true, failures: [] as Array<unknown> }
    stopTraffic = async () => {
      traffic.on = false
      await background
    }
    const background = (async () => {
      let sent = 0
      // bounded: at most 400 requests or until the test turns it off
      while (traffic.on && sent < 400) {
        await Promise.all([chat(), chat()]).catch((error: unknown) => traffic.failures.push(error))
        sent += 2
      }
    })()
    await chat()
    const firstAnswerAt = Date.now()
    await nodeA.getByText(/^[1-9][\d.]* tok\/s$|^0\.[1-9]\d* tok\/s$/).waitFor({ timeout: 5_000 })
    const tokSecondsAfter = Date.now() - firstAnswerAt
    expect(tokSecondsAfter).toBeLessThanOrEqual(2_000)
    await expect(nodeA.getByText(/req\/s$/).textContent()).resolves.toMatch(/^[\d.]+ req\/s$/)
    // (requests counts the balancer's /v1/models look-ups too; completed counts generations)
    expect(sims[0]!.counters().completed).toBeGreaterThan(0)
    expect(sims[1]!.counters().completed).toBe(0)

    // screenshots with live traffic, dark then light
    await page.getByRole("button", { name: "Fit view" }).click()
    await centreOf(page, nodeB) // the fit animation has ended
    await transitionsSettled(page)
    await page.screenshot({ path: docs("editor-dark.png") })
    await page.emulateMedia({ colorScheme: "light" })
    await transitionsSettled(page)
    await page.screenshot({ path: docs("editor-light.png") })
    await page.emulateMedia({ colorScheme: "dark" })

    // the global routing mode
    await page.getByLabel("Routing mode").selectOption("priority")
    await eventually(async () => (await lb.admin<{ routing_mode: string }>("GET", "/state")).body.routing_mode === "priority", "priority mode")
    await nodeA.getByText(/^priority \d+$/).waitFor()

    await stopTraffic()
    expect(traffic.failures).toEqual([])

    // delete the wire with the keyboard, then undo brings it back (a real API call each)
    const wire = canvas.getByRole("button", { name: "Wire default to gpu-a", exact: true })
    await wire.focus()
    await page.keyboard.press("Delete")
    await wire.waitFor({ state: "detached" })
    await eventually(async () => !(await byName("gpu-a"))!.connected, "gpu-a unwired")
    await page.keyboard.press("Control+z")
    await wire.waitFor()
    await eventually(async () => (await byName("gpu-a"))!.connected, "gpu-a wired again")

    // the keyboard wires too: Enter on an output port, Enter on an input port; undo takes it away again
    await page.getByRole("button", { name: "Output of default" }).focus()
    await page.keyboard.press("Enter")
    await page.getByRole("button", { name: "Input of gpu-b" }).focus()
    await page.keyboard.press("Enter")
    const keyboardWire = canvas.getByRole("button", { name: "Wire default to gpu-b", exact: true })
    await keyboardWire.waitFor()
    await eventually(async () => (await byName("gpu-b"))!.connected, "gpu-b wired from the keyboard")
    await page.getByRole("button", { name: "Undo" }).click()
    await keyboardWire.waitFor({ state: "detached" })
    await eventually(async () => !(await byName("gpu-b"))!.connected, "gpu-b unwired by undo")

    // a reload keeps every position
    const placed = await Promise.all(["Incoming block default", "Endpoint gpu-a", "Endpoint gpu-b"].map((n) => canvas.getByRole("group", { name: n }).getAttribute("style")))
    const stored = await endpoints()
    await page.reload()
    await canvas.getByRole("group", { name: "Endpoint gpu-b" }).waitFor()
    const replaced = await Promise.all(["Incoming block default", "Endpoint gpu-a", "Endpoint gpu-b"].map((n) => canvas.getByRole("group", { name: n }).getAttribute("style")))
    expect(replaced).toEqual(placed)
    expect((await endpoints()).map((e) => [e.name, e.pos_x, e.pos_y])).toEqual(stored.map((e) => [e.name, e.pos_x, e.pos_y]))
    expect(new Set(stored.map((e) => `${e.pos_x},${e.pos_y}`)).size).toBe(2)

    expect(errors).toEqual([])
  }, 180_000)
})
