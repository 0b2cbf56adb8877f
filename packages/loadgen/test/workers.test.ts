/** `workers > 1`: the schedule split between worker threads, the results merged in the main thread. */
import { describe, expect, it } from "vitest"
import { run, useSim } from "./support.js"

const indexes = (ids: ReadonlyArray<string>) => ids.map((id) => Number(id.slice(id.lastIndexOf("-") + 1))).sort((a, b) => a - b)

describe("worker threads", () => {
  it("a rate run in 2 workers sends every request of the schedule once and merges the records", async () => {
    const sim = await useSim({ ttftMs: 5, outputTokens: 3 })
    const points: Array<number> = []
    const { report, records, status } = await run(
      { base_url: sim.baseUrl, rate: 40, interval: true, requests: 60, workers: 2 },
      { onPoint: (p) => points.push(p.sent) }
    )
    expect(status).toBe("done")
    expect(records).toHaveLength(60)
    expect(indexes(report.request_ids)).toEqual(Array.from({ length: 60 }, (_, i) => i))
    expect(report.total_output_tokens).toBe(180)
    expect(sim.counters().completed).toBe(60)
    // the merged schedule is the whole constant-interval schedule: 40 req/s
    expect(Math.abs(report.self_check.target_rate! / 40 - 1)).toBeLessThan(0.01)
    expect(points.at(-1)).toBe(60)
  }, 120_000)

  it("a concurrency run in 2 workers splits the concurrency: never more than N at the simulator", async () => {
    const sim = await useSim({ ttftMs: 20, interTokenMs: 2, outputTokens: 5 })
    const { report } = await run({ base_url: sim.baseUrl, concurrency: 6, requests: 60, workers: 2 })
    expect(report.completed).toBe(60)
    expect(sim.counters().maxRunning).toBeLessThanOrEqual(6)
    expect(report.max_concurrent_requests).toBeLessThanOrEqual(6)
  }, 120_000)

  it("stopping a worker run ends the requests in every thread", async () => {
    const sim = await useSim({ fault: { kind: "hang" } })
    const controller = new AbortController()
    const running = setInterval(() => {
      if (sim.counters().byRoute["/v1/chat/completions"] === 4) controller.abort()
    }, 20)
    const result = await run({ base_url: sim.baseUrl, concurrency: 4, workers: 2 }, { signal: controller.signal })
    clearInterval(running)
    expect(result.status).toBe("stopped")
    expect(result.report.num_prompts).toBe(4)
  }, 120_000)
})
