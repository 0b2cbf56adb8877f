/** Load shapes and stop rules against the simulator. */
import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { runLoad } from "../src/Run.js"
import { run, settings, until, useSim } from "./support.js"

describe("load shapes", () => {
  it("a concurrency-N run never has more than N requests at the simulator, and N most of the time", async () => {
    const sim = await useSim({ ttftMs: 50, interTokenMs: 10, outputTokens: 15 })
    const samples: Array<number> = []
    const sampler = setInterval(() => samples.push(sim.counters().running), 3)
    const { report } = await run({ base_url: sim.baseUrl, concurrency: 8, requests: 80 })
    clearInterval(sampler)
    expect(sim.counters().maxRunning).toBe(8)
    expect(report.max_concurrent_requests).toBe(8)
    // Between one request's end and the next one's arrival, a slot is briefly empty (a round trip).
    const busy = samples.slice(5, -70) // from the first requests' arrival to the last ones' drain
    const atN = busy.filter((n) => n === 8).length / busy.length
    const mean = busy.reduce((a, b) => a + b, 0) / busy.length
    expect(atN, `share of samples with 8 running: ${atN}`).toBeGreaterThan(0.5)
    expect(mean, `mean running: ${mean}`).toBeGreaterThan(7.2)
  }, 30_000)

  it("a rate far above what the machine sends ends on its own, flagged saturated (no call nested per late arrival)", async () => {
    const sim = await useSim({ ttftMs: 0, outputTokens: 1 })
    const result = await run({ base_url: sim.baseUrl, rate: 100_000, interval: true, requests: 6_000 })
    expect(result.status).toBe("done")
    expect(result.report.completed).toBe(6_000)
    expect(result.report.self_check.saturated).toBe(true)
  }, 60_000)

  it("a constant-interval rate run sends and completes at the target rate within 5 %", async () => {
    const sim = await useSim({ ttftMs: 2, outputTokens: 2 })
    const { report } = await run({ base_url: sim.baseUrl, rate: 50, interval: true, requests: 150 })
    expect(report.self_check.achieved_rate! / 50).toBeGreaterThan(0.95)
    expect(report.self_check.achieved_rate! / 50).toBeLessThan(1.05)
    expect(report.request_throughput / 50).toBeGreaterThan(0.95)
    expect(report.request_throughput / 50).toBeLessThan(1.05)
  }, 30_000)

  it("a Poisson rate run sends on its seeded schedule: the achieved rate within 5 % of the schedule's", async () => {
    const sim = await useSim({ ttftMs: 2, outputTokens: 2 })
    const { report, records } = await run({ base_url: sim.baseUrl, rate: 100, requests: 300, seed: 3 })
    const { achieved_rate, target_rate } = report.self_check
    expect(Math.abs(achieved_rate! / target_rate! - 1)).toBeLessThan(0.05)
    // the schedule itself is a rate-100 Poisson process (300 arrivals: within 4 standard deviations)
    expect(Math.abs(target_rate! / 100 - 1)).toBeLessThan(4 / Math.sqrt(300))
    // each request records its intended and actual send time
    expect(records.every((r) => r.start_time >= r.intended_time - 0.0005)).toBe(true)
  }, 30_000)

  it("a concurrency cap on a rate run holds requests back and counts their wait as client queue time", async () => {
    const sim = await useSim({ ttftMs: 100, outputTokens: 1 })
    const { report } = await run({ base_url: sim.baseUrl, rate: 100, interval: true, concurrency: 2, requests: 20 })
    expect(sim.counters().maxRunning).toBe(2)
    // 100 req/s offered, 2 x 10 req/s served: the queue grows by about 80 ms a request
    expect(report.p99_client_queue_time_ms).toBeGreaterThan(500)
    expect(report.p50_e2el_including_client_queue_ms).toBeGreaterThan(report.p50_e2el_ms + 200)
    expect(report.self_check.notes.join(" ")).toContain("concurrency cap")
  }, 30_000)

  it("the error-rate stop triggers on a simulator failing every request", async () => {
    const sim = await useSim({ fault: { kind: "status", status: 500 } })
    const result = await run({ base_url: sim.baseUrl, concurrency: 4, requests: 1000, max_error_rate: 0.5 })
    expect(result.status).toBe("failed")
    expect(result.reason).toMatch(/error rate 100\.0 %/)
    expect(result.report.failed).toBeGreaterThanOrEqual(20)
    expect(result.report.failed).toBeLessThan(60)
    expect(result.report.errors[0]).toMatch(/^HTTP 500/)
  }, 30_000)

  it("a warm-up of N requests comes on top of the requests and is left out of the figures", async () => {
    const sim = await useSim({ outputTokens: 3 })
    const { report, records } = await run({ base_url: sim.baseUrl, concurrency: 2, requests: 10, warmup: { requests: 4 } })
    expect(records).toHaveLength(14)
    expect(records.filter((r) => r.warmup)).toHaveLength(4)
    expect(report.num_prompts).toBe(10)
    expect(report.completed).toBe(10)
  }, 30_000)

  it("a warm-up of S seconds: what the schedule sends in them is left out, the requests come on top", async () => {
    const sim = await useSim({ outputTokens: 1 })
    const { report, records } = await run({ base_url: sim.baseUrl, rate: 20, interval: true, warmup: { seconds: 0.5 }, requests: 10 })
    // at 20 req/s the arrivals at 0, 0.05, ..., 0.45 s are the warm-up
    expect(records.filter((r) => r.warmup)).toHaveLength(10)
    expect(report.num_prompts).toBe(10)
  }, 30_000)

  it("a duration ends the sends; in-flight requests finish", async () => {
    const sim = await useSim({ ttftMs: 50, outputTokens: 2 })
    const started = Date.now()
    const { report, status } = await run({ base_url: sim.baseUrl, concurrency: 3, duration: 1 })
    expect(status).toBe("done")
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(report.failed).toBe(0)
    expect(report.completed).toBeGreaterThanOrEqual(30)
  }, 30_000)

  it("aborting the signal ends in-flight requests and still resolves with a report", async () => {
    const sim = await useSim({ fault: { kind: "hang" } })
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 300)
    const result = await run({ base_url: sim.baseUrl, concurrency: 5, requests: 100 }, { signal: controller.signal })
    expect(result.status).toBe("stopped")
    expect(result.report.num_prompts).toBe(5)
    expect(result.report.errors.every((e) => e === "stopped by the user")).toBe(true)
  }, 30_000)

  it("interrupting the fiber stops the run and ends its requests", async () => {
    const sim = await useSim({ ttftMs: 10_000 })
    await Effect.runPromise(Effect.gen(function*() {
      const fiber = yield* Effect.fork(runLoad(settings({ base_url: sim.baseUrl, concurrency: 3 })))
      yield* Effect.promise(() => until(() => sim.counters().running === 3, 10_000))
      yield* Fiber.interrupt(fiber)
    }))
    // all three requests end at the server, aborted, not completed
    await until(() => sim.counters().aborted === 3 && sim.counters().running === 0, 5_000)
  }, 30_000)

  it("a request timeout ends the request as failed", async () => {
    const sim = await useSim({ fault: { kind: "hang" } })
    const { report } = await run({ base_url: sim.baseUrl, requests: 2, timeout: 0.2 })
    expect(report.errors).toEqual(["timeout after 0.2 s", "timeout after 0.2 s"])
  }, 30_000)

  it("an unreachable server fails the run with the reason", async () => {
    const result = await run({ base_url: "http://127.0.0.1:1/v1", requests: 2 })
    expect(result.status).toBe("failed")
    expect(result.reason).toMatch(/models failed/)
  }, 30_000)

  it("without --model the first model of GET /models is used; the API key is sent as Bearer", async () => {
    const sim = await useSim({ models: ["first", "second"], apiKey: "sk-1" })
    const { report } = await run({ base_url: sim.baseUrl, api_key: "sk-1", requests: 1 })
    expect(report.model_id).toBe("first")
    expect(report.completed).toBe(1)
    expect(JSON.stringify(report.settings)).not.toContain("sk-1")
    const sent = sim.received().find((r) => r.path === "/v1/chat/completions")!
    expect(sent.headers["x-request-id"]).toBe(report.request_ids[0])
  }, 30_000)
})

describe("ramps", () => {
  it("a concurrency ramp from 1 to 8 over the duration: few in flight at first, 8 at the end", async () => {
    const sim = await useSim({ ttftMs: 30, outputTokens: 1 })
    const samples: Array<[number, number]> = []
    const started = Date.now()
    const sampler = setInterval(() => samples.push([Date.now() - started, sim.counters().running]), 10)
    const { report } = await run({ base_url: sim.baseUrl, ramp: { from: 1, to: 8 }, concurrency: 8, duration: 2 })
    clearInterval(sampler)
    expect(sim.counters().maxRunning).toBe(8)
    expect(report.max_concurrency).toBe(8)
    const early = samples.filter(([t]) => t < 400).map(([, n]) => n)
    expect(Math.max(...early)).toBeLessThanOrEqual(3)
  }, 30_000)

  it("a rate ramp bounded by a request count sends them all, sparse first and dense last", async () => {
    const sim = await useSim({ outputTokens: 1 })
    const { report, records } = await run({ base_url: sim.baseUrl, ramp: { from: 10, to: 90 }, interval: true, requests: 100 })
    expect(report.completed).toBe(100)
    // the schedule: arrival k at Lambda(t) = 10 t + 20 t^2 = k, over 2 * 100 / (10 + 90) = 2 s
    const intended = records.map((r) => r.intended_time).sort((a, b) => a - b)
    const at = (k: number) => (-10 + Math.sqrt(100 + 80 * k)) / 40
    for (const k of [1, 50, 98, 99]) expect(intended[k]! - intended[0]!).toBeCloseTo(at(k), 4)
    expect(intended[1]! - intended[0]!).toBeGreaterThan(5 * (intended[99]! - intended[98]!))
  }, 30_000)
})
