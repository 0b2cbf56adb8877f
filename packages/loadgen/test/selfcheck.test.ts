import { describe, expect, it } from "@effect/vitest"
import type { RequestRecord } from "../src/Records.js"
import { buildSelfCheck } from "../src/SelfCheck.js"
import { errorWindow, Tracker } from "../src/Tracker.js"

/** Records sent every `gap` seconds on a schedule of `scheduled`-second gaps. */
const sends = (n: number, scheduled: number, gap: number): Array<RequestRecord> =>
  Array.from({ length: n }, (_, i) => ({
    request_id: `r-${i}`,
    start_time: 1000 + i * gap,
    intended_time: 1000 + i * scheduled,
    status: 200,
    ok: true,
    ttft_ms: 1,
    e2el_ms: 1,
    tpot_ms: null,
    itls_ms: [],
    chunk_tokens: null,
    input_tokens: 1,
    output_tokens: 1,
    estimated: false,
    endpoint: null,
    error: null,
    client_queue_ms: 0,
    warmup: false
  }))

describe("self-check", () => {
  it("a quiet client on schedule is not saturated", () => {
    const check = buildSelfCheck({ loops: [{ p99_ms: 1.2, max_ms: 3 }], lagsMs: [0.1, 0.2, 0.4], records: sends(100, 0.01, 0.01), openLoop: true, capped: false })
    expect(check).toMatchObject({ saturated: false, affected: [], notes: [], dispatch_lag_max_ms: 0.4 })
    expect(check.target_rate).toBeCloseTo(100, 6)
    expect(check.achieved_rate).toBeCloseTo(100, 6)
  })

  it("event-loop delay p99 over 5 ms: the timing figures are affected", () => {
    const check = buildSelfCheck({ loops: [{ p99_ms: 1, max_ms: 2 }, { p99_ms: 7, max_ms: 9 }], lagsMs: [], records: [], openLoop: false, capped: false })
    expect(check.saturated).toBe(true)
    expect(check.event_loop_delay_p99_ms).toBe(7)
    expect(check.affected).toEqual(["ttft", "itl", "tpot", "e2el"])
  })

  it("dispatch lag p99 over 5 ms: the rate and the client queue time are affected", () => {
    const lags = [...Array.from({ length: 90 }, () => 0.5), ...Array.from({ length: 10 }, () => 20)]
    const check = buildSelfCheck({ loops: [], lagsMs: lags, records: [], openLoop: true, capped: false })
    expect(check.dispatch_lag_p99_ms).toBe(20)
    expect(check.affected).toEqual(["request_rate", "client_queue_time", "e2el_including_client_queue"])
  })

  it("sends more than 2 % behind the schedule: saturated, unless a concurrency cap held them", () => {
    const behind = sends(100, 0.01, 0.0103)
    const check = buildSelfCheck({ loops: [], lagsMs: [], records: behind, openLoop: true, capped: false })
    expect(check.saturated).toBe(true)
    expect(check.affected).toContain("request_throughput")
    const capped = buildSelfCheck({ loops: [], lagsMs: [], records: behind, openLoop: true, capped: true })
    expect(capped.saturated).toBe(false)
    expect(capped.notes[0]).toContain("concurrency cap")
    expect(buildSelfCheck({ loops: [], lagsMs: [], records: sends(100, 0.01, 0.0101), openLoop: true, capped: false }).saturated).toBe(false)
  })
})

describe("tracker", () => {
  it("the error-rate window is at least 20 requests, longer for small limits", () => {
    expect([0.5, 0.1, 0.05, 0.01, 0.0001].map(errorWindow)).toEqual([20, 20, 40, 200, 1000])
  })

  it("the error rate counts only once the window is full, over the last requests", () => {
    const tracker = new Tracker(0.5)
    const [ok, failed] = [sends(1, 1, 1)[0]!, { ...sends(1, 1, 1)[0]!, ok: false }]
    for (let i = 0; i < 19; i++) tracker.record(failed)
    expect(tracker.errorRateExceeded()).toBeNull()
    tracker.record(failed)
    expect(tracker.errorRateExceeded()).toBe(1)
    for (let i = 0; i < 10; i++) tracker.record(ok)
    expect(tracker.errorRateExceeded()).toBeNull() // 10 of the last 20 failed: 0.5 is not above 0.5
    tracker.record(ok)
    expect(tracker.errorRateExceeded()).toBeNull()
  })

  it("a second's point: cumulative counts, in flight, that second's rates and percentiles", () => {
    const tracker = new Tracker(undefined)
    for (let i = 0; i < 3; i++) tracker.send(null, false)
    tracker.output(10, null, 1)
    tracker.output(30, null, 1)
    tracker.output(null, 5, 3)
    tracker.record(sends(1, 1, 1)[0]!)
    const point = tracker.tick(1)
    expect(point).toEqual({
      t: 1,
      sent: 3,
      completed: 1,
      failed: 0,
      in_flight: 2,
      request_throughput: 1,
      output_throughput: 5,
      ttft_p50_ms: 20,
      ttft_p99_ms: 29.8,
      itl_p50_ms: 5,
      itl_p99_ms: 5,
      error_rate: 0
    })
    expect(tracker.tick(2)).toMatchObject({ sent: 3, request_throughput: 0, output_throughput: 0, ttft_p50_ms: null, error_rate: null })
  })
})
