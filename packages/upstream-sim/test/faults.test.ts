import * as http from "node:http"
import { describe, expect, it } from "vitest"
import { startSim } from "../src/index.js"
import { chatBody, clientFor, post, sseData, until, useSim } from "./helpers.js"

/** Raw HTTP so a truncated response shows what arrived before the connection closed. */
const rawPost = (url: string, body: unknown) =>
  new Promise<{ status: number; text: string; error: string | undefined }>((resolve) => {
    const payload = JSON.stringify(body)
    const req = http.request(url, { method: "POST", agent: false, headers: { "content-type": "application/json" } }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (d: string) => (text += d))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, error: undefined }))
      res.on("error", (e) => resolve({ status: res.statusCode ?? 0, text, error: e.message }))
      res.on("aborted", () => resolve({ status: res.statusCode ?? 0, text, error: "aborted" }))
    })
    req.on("error", (e) => resolve({ status: 0, text: "", error: e.message }))
    req.end(payload)
  })

describe("faults", () => {
  it("status: every request, vLLM-style body, Retry-After; only on generation routes", async () => {
    const sim = await useSim({ fault: { kind: "status", status: 503, retryAfterSeconds: 2 } })
    const res = await post(`${sim.baseUrl}/chat/completions`, chatBody())
    expect(res.status).toBe(503)
    expect(res.headers.get("retry-after")).toBe("2")
    expect(await res.json()).toEqual({
      error: { message: "Simulated fault: HTTP 503", type: "ServiceUnavailableError", param: null, code: 503 }
    })
    expect((await post(`${sim.baseUrl}/embeddings`, { model: "sim-model", input: "x" })).status).toBe(503)
    expect((await fetch(`${sim.baseUrl}/models`)).status).toBe(200)
    expect((await fetch(`${sim.url}/metrics`)).status).toBe(200)
    expect((await fetch(`${sim.url}/sim/stats`)).status).toBe(200)
    expect(sim.counters()).toMatchObject({ faults: 2, completed: 0 })
  })

  it("status: every Nth request, custom body; the openai client sees the status", async () => {
    const sim = await useSim({ fault: { kind: "status", status: 429, every: 3, body: { error: { message: "slow down" } } } })
    const statuses: Array<number> = []
    for (let i = 0; i < 7; i++) {
      const res = await post(`${sim.baseUrl}/chat/completions`, chatBody())
      statuses.push(res.status)
      if (res.status === 429) expect(await res.json()).toEqual({ error: { message: "slow down" } })
      else await res.text()
    }
    expect(statuses).toEqual([200, 200, 429, 200, 200, 429, 200])
    expect(sim.counters()).toMatchObject({ faults: 2, completed: 5 })
    sim.set({ fault: { kind: "status", status: 500, every: 2 } }) // a new fault restarts the count
    const client = clientFor(sim)
    await client.chat.completions.create(chatBody())
    await expect(client.chat.completions.create(chatBody())).rejects.toMatchObject({ status: 500 })
  })

  it("hang: never answers; close() resolves promptly and fails the pending request", async () => {
    const sim = await startSim({ fault: { kind: "hang" } })
    const pending = post(`${sim.baseUrl}/chat/completions`, chatBody()).then(() => "answered", () => "failed")
    await until(() => sim.counters().faults === 1)
    await new Promise((r) => setTimeout(r, 50))
    expect(sim.counters()).toMatchObject({ running: 0, completed: 0 })
    const t0 = performance.now()
    await sim.close()
    expect(performance.now() - t0).toBeLessThan(500)
    expect(await pending).toBe("failed")
  })

  it("hang: a client giving up counts as aborted", async () => {
    const sim = await useSim({ fault: { kind: "hang" } })
    const res = post(`${sim.baseUrl}/chat/completions`, chatBody(), {}, AbortSignal.timeout(100))
    await expect(res).rejects.toThrow()
    await until(() => sim.counters().aborted === 1)
  })

  it("slow-headers: headers only after the delay", async () => {
    const sim = await useSim({ fault: { kind: "slow-headers", delayMs: 150 } })
    for (const stream of [false, true]) {
      const t0 = performance.now()
      const res = await post(`${sim.baseUrl}/chat/completions`, chatBody({ stream }))
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140)
      expect(res.status).toBe(200)
      await res.text()
    }
    expect(sim.counters()).toMatchObject({ faults: 2, completed: 2 })
  })

  it("close-mid-stream: N chunks then the connection closes; non-stream closes before the body", async () => {
    const sim = await useSim({ fault: { kind: "close-mid-stream", afterChunks: 3 }, interTokenMs: 5 })
    const streamed = await rawPost(`${sim.baseUrl}/chat/completions`, chatBody({ stream: true }))
    expect(streamed.status).toBe(200)
    expect(streamed.error).toBeDefined()
    expect(sseData(streamed.text)).toHaveLength(3)
    expect(sseData(streamed.text)).not.toContain("[DONE]")

    const whole = await rawPost(`${sim.baseUrl}/chat/completions`, chatBody())
    expect(whole.status).toBe(200)
    expect(whole.error).toBeDefined()
    expect(whole.text).toBe("")

    await expect(clientFor(sim).chat.completions.create(chatBody())).rejects.toThrow()
    await until(() => sim.counters().faults === 3)
    expect(sim.counters()).toMatchObject({ aborted: 0, completed: 0, running: 0 })

    // a response shorter than N chunks is not affected
    sim.set({ fault: { kind: "close-mid-stream", afterChunks: 100 } })
    const short = await rawPost(`${sim.baseUrl}/chat/completions`, chatBody({ stream: true, max_tokens: 2 }))
    expect(short.error).toBeUndefined()
    expect(sseData(short.text).at(-1)).toBe("[DONE]")
  })

  it("close-mid-stream after 0 chunks still sends the headers", async () => {
    const sim = await useSim({ fault: { kind: "close-mid-stream", afterChunks: 0 } })
    const r = await rawPost(`${sim.baseUrl}/completions`, { model: "sim-model", prompt: "x", stream: true })
    expect(r.status).toBe(200)
    expect(r.text).toBe("")
    expect(r.error).toBeDefined()
  })
})
