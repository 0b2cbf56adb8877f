import { describe, expect, it } from "vitest"
import { chatBody, clientFor, post, until, useSim } from "./helpers.js"

describe("maxConcurrency and aborts", () => {
  it("queues beyond the limit: maxRunning never exceeds it, waiting is observed", async () => {
    const sim = await useSim({ maxConcurrency: 3, ttftMs: 40 })
    const client = clientFor(sim)
    let maxWaiting = 0
    let maxRunningSeen = 0
    const poll = setInterval(() => {
      const c = sim.counters()
      maxWaiting = Math.max(maxWaiting, c.waiting)
      maxRunningSeen = Math.max(maxRunningSeen, c.running)
    }, 2)
    const t0 = performance.now()
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        if (i % 2 === 1) return client.chat.completions.create(chatBody())
        for await (const _ of await client.chat.completions.create(chatBody({ stream: true }))) { /* drain */ }
      })
    )
    clearInterval(poll)
    expect(results).toHaveLength(10)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150) // four rounds of 40 ms
    expect(maxRunningSeen).toBeLessThanOrEqual(3)
    expect(maxWaiting).toBeGreaterThan(0)
    expect(sim.counters()).toMatchObject({ maxRunning: 3, running: 0, waiting: 0, completed: 10 })
  })

  it("serves the queue in FIFO order", async () => {
    const sim = await useSim({ maxConcurrency: 1, ttftMs: 15 })
    const done: Array<number> = []
    const all: Array<Promise<void>> = []
    for (let i = 0; i < 5; i++) {
      all.push(post(`${sim.baseUrl}/chat/completions`, chatBody({ user: `u${i}` })).then(async (r) => {
        await r.text()
        done.push(i)
      }))
      await until(() => sim.counters().requests === i + 1 && sim.counters().running + sim.counters().waiting === i + 1 - done.length)
    }
    await Promise.all(all)
    expect(done).toEqual([0, 1, 2, 3, 4])
  })

  it("a client abort mid-stream stops generation, is counted and frees the slot", async () => {
    const sim = await useSim({ maxConcurrency: 1, interTokenMs: 30, outputTokens: 100 })
    const ac = new AbortController()
    const res = await post(`${sim.baseUrl}/chat/completions`, chatBody({ stream: true }), {}, ac.signal)
    const reader = res.body!.getReader()
    await reader.read()
    expect(sim.counters().running).toBe(1)
    ac.abort()
    await until(() => sim.counters().aborted === 1)
    expect(sim.counters()).toMatchObject({ running: 0, completed: 0 })
    sim.set({ interTokenMs: 0 })
    const t0 = performance.now()
    const ok = await clientFor(sim).chat.completions.create(chatBody({ max_tokens: 2 }))
    expect(ok.usage?.completion_tokens).toBe(2)
    expect(performance.now() - t0).toBeLessThan(500)
  })

  it("an abort while queued leaves the queue", async () => {
    const sim = await useSim({ maxConcurrency: 1, ttftMs: 300 })
    const first = post(`${sim.baseUrl}/chat/completions`, chatBody())
    await until(() => sim.counters().running === 1)
    const ac = new AbortController()
    const second = post(`${sim.baseUrl}/chat/completions`, chatBody(), {}, ac.signal).catch(() => "aborted")
    await until(() => sim.counters().waiting === 1)
    ac.abort()
    expect(await second).toBe("aborted")
    await until(() => sim.counters().waiting === 0)
    expect(sim.counters()).toMatchObject({ aborted: 1, running: 1 })
    expect((await first).status).toBe(200)
    expect(sim.counters()).toMatchObject({ completed: 1, maxRunning: 1, running: 0 })
  })

  it("raising maxConcurrency at run time starts the waiting requests", async () => {
    const sim = await useSim({ maxConcurrency: 1, ttftMs: 200 })
    const all = Array.from({ length: 4 }, () => post(`${sim.baseUrl}/chat/completions`, chatBody()).then((r) => r.status))
    await until(() => sim.counters().waiting === 3)
    sim.set({ maxConcurrency: 0 })
    expect(sim.counters()).toMatchObject({ running: 4, waiting: 0, maxRunning: 4 })
    expect(await Promise.all(all)).toEqual([200, 200, 200, 200])
  })
})
