import { describe, expect, it } from "@effect/vitest"
import { compareReports } from "../src/Compare.js"
import { requestsCsv } from "../src/Csv.js"
import type { RequestRecord } from "../src/Records.js"
import { buildReport, type Report } from "../src/Report.js"
import { buildSelfCheck } from "../src/SelfCheck.js"
import { settings } from "./support.js"

const record = (over: Partial<RequestRecord> = {}): RequestRecord => ({
  request_id: "r-0",
  start_time: 1000,
  intended_time: 1000,
  status: 200,
  ok: true,
  ttft_ms: 100,
  e2el_ms: 400,
  tpot_ms: 100,
  itls_ms: [100, 100, 100],
  chunk_tokens: null,
  input_tokens: 10,
  output_tokens: 4,
  estimated: false,
  endpoint: null,
  error: null,
  client_queue_ms: 0,
  warmup: false,
  ...over
})

const reportOf = (records: ReadonlyArray<RequestRecord>, extra: Record<string, unknown> = {}): Report =>
  buildReport({
    settings: settings({ base_url: "http://127.0.0.1:1/v1", api_key: "secret", concurrency: 2, ...extra }),
    model: "m",
    status: "done",
    reason: null,
    records,
    series: [],
    selfCheck: buildSelfCheck({ loops: [], lagsMs: [], records, openLoop: false, capped: false }),
    events: [],
    date: new Date(0)
  })

describe("report", () => {
  it("vLLM's run figures: duration from the first send to the last end, throughputs over it", () => {
    const r = reportOf([
      record({ request_id: "a", start_time: 1000 }),
      record({ request_id: "b", start_time: 1000.6, e2el_ms: 400 }),
      record({ request_id: "c", start_time: 1000.2, ok: false, status: 500, error: "HTTP 500: boom", ttft_ms: null, e2el_ms: 5 })
    ])
    expect(r.duration).toBeCloseTo(1, 9)
    expect(r.completed).toBe(2)
    expect(r.failed).toBe(1)
    expect(r.total_output_tokens).toBe(8)
    expect(r.total_input_tokens).toBe(20)
    expect(r.request_throughput).toBeCloseTo(2, 9)
    expect(r.output_throughput).toBeCloseTo(8, 9)
    expect(r.total_token_throughput).toBeCloseTo(28, 9)
    expect(r.error_rate).toBeCloseTo(1 / 3, 9)
    // per-request arrays in send order, seconds, 0 for the failed one
    expect(r.request_ids).toEqual(["a", "c", "b"])
    expect(r.ttfts).toEqual([0.1, 0, 0.1])
    expect(r.latencies).toEqual([0.4, 0, 0.4])
    expect(r.output_lens).toEqual([4, 0, 4])
    expect(r.errors).toEqual(["", "HTTP 500: boom", ""])
    expect(r.itls[0]).toEqual([0.1, 0.1, 0.1])
  })

  it("the JSON report opens with vLLM's field names and keeps the settings without the API key", () => {
    const r = reportOf([record()])
    const keys = Object.keys(r)
    for (const k of ["date", "model_id", "num_prompts", "request_rate", "burstiness", "max_concurrency", "duration", "completed"]) {
      expect(keys).toContain(k)
    }
    for (const f of ["ttft", "tpot", "itl", "e2el", "client_queue_time"]) {
      for (const s of ["mean", "median", "std", "p50", "p90", "p95", "p99"]) expect(keys).toContain(`${s}_${f}_ms`)
    }
    expect(r.settings).toMatchObject({ base_url: "http://127.0.0.1:1/v1", concurrency: 2, route: "chat", max_tokens: 128 })
    expect(JSON.stringify(r)).not.toContain("secret")
    expect(r.request_rate).toBe("inf")
  })

  it("TTFT, TPOT, ITL and E2EL statistics over the successful requests only", () => {
    const r = reportOf([
      record({ ttft_ms: 10, e2el_ms: 70, tpot_ms: 20, itls_ms: [20, 20, 20] }),
      record({ ttft_ms: 30, e2el_ms: 90, tpot_ms: 20, itls_ms: [10, 30, 20] }),
      record({ ok: false, ttft_ms: 1, e2el_ms: 1, tpot_ms: null, itls_ms: [1] })
    ])
    expect(r.mean_ttft_ms).toBe(20)
    expect(r.median_ttft_ms).toBe(20)
    expect(r.std_ttft_ms).toBe(10)
    expect(r.mean_itl_ms).toBe(20)
    expect(r.p50_e2el_ms).toBe(80)
    expect(r.mean_tpot_ms).toBe(20)
  })

  it("goodput counts the successful requests meeting every SLO", () => {
    const records = [
      record({ ttft_ms: 50, tpot_ms: 10, e2el_ms: 100 }),
      record({ ttft_ms: 150, tpot_ms: 10, e2el_ms: 100 }), // TTFT too slow
      record({ ttft_ms: 50, tpot_ms: 30, e2el_ms: 100 }), // TPOT too slow
      record({ ttft_ms: 50, tpot_ms: null, e2el_ms: 50, output_tokens: 1, itls_ms: [] }) // one token: no TPOT to miss
    ]
    const r = reportOf(records, { goodput: { ttft_ms: 100, tpot_ms: 20 } })
    expect(r.request_goodput! * r.duration).toBeCloseTo(2, 9)
    expect(reportOf(records).request_goodput).toBeNull()
  })

  it("max_output_tokens_per_s counts tokens (continuous usage deltas), not chunks", () => {
    // one request, two chunks in the same second carrying 5 and 3 tokens
    const r = reportOf([record({ ttft_ms: 100, itls_ms: [100], chunk_tokens: [5, 3], output_tokens: 8, e2el_ms: 200 })])
    expect(r.max_output_tokens_per_s).toBe(8)
    // token ITL: the 3-token chunk's 100 ms gap is 3 gaps of 33.3 ms
    expect(r.mean_token_itl_ms).toBeCloseTo(100 / 3, 9)
    expect(r.mean_itl_ms).toBe(100)
  })

  it("max_concurrent_requests from the send and end times", () => {
    const r = reportOf([
      record({ start_time: 0, e2el_ms: 1000 }),
      record({ start_time: 0.5, e2el_ms: 1000 }),
      record({ start_time: 0.9, e2el_ms: 100 }),
      record({ start_time: 1.0, e2el_ms: 100 }) // starts as the first ends
    ])
    expect(r.max_concurrent_requests).toBe(3)
  })

  it("the per-endpoint breakdown: requests, errors, share of output tokens, TTFT percentiles", () => {
    const r = reportOf([
      record({ endpoint: "a", output_tokens: 30, ttft_ms: 10 }),
      record({ endpoint: "a", output_tokens: 30, ttft_ms: 20 }),
      record({ endpoint: "b", output_tokens: 40, ttft_ms: 50 }),
      record({ endpoint: "b", ok: false, status: 502, error: "HTTP 502: x" }),
      record({ endpoint: null, ok: false, status: 0, error: "ECONNREFUSED" })
    ])
    expect(r.endpoints).toEqual({
      "(none)": { requests: 1, completed: 0, errors: 1, output_tokens: 0, output_token_share: 0, ttft_p50_ms: null, ttft_p99_ms: null },
      a: { requests: 2, completed: 2, errors: 0, output_tokens: 60, output_token_share: 0.6, ttft_p50_ms: 15, ttft_p99_ms: 19.9 },
      b: { requests: 2, completed: 1, errors: 1, output_tokens: 40, output_token_share: 0.4, ttft_p50_ms: 50, ttft_p99_ms: 50 }
    })
  })

  it("warm-up requests are left out of every figure", () => {
    const r = reportOf([record({ warmup: true, ttft_ms: 999 }), record({ ttft_ms: 10 })])
    expect(r.num_prompts).toBe(1)
    expect(r.mean_ttft_ms).toBe(10)
  })
})

describe("requests CSV", () => {
  it("a header and one row a request, fields quoted when they hold a comma, quote or line break", () => {
    const csv = requestsCsv([
      record({ request_id: "x-1", endpoint: "gpu-a", start_time: 1700000000.123456 }),
      record({ request_id: "x-2", ok: false, status: 500, error: "HTTP 500: \"bad\", really\nyes", ttft_ms: null, tpot_ms: null })
    ])
    const lines = csv.split("\n")
    expect(lines[0]).toBe(
      "request_id,start_time,intended_time,status,ok,ttft_ms,e2el_ms,tpot_ms,client_queue_ms,input_tokens,output_tokens,estimated,endpoint,error,warmup"
    )
    expect(lines[1]).toBe("x-1,1700000000.123456,1000.000000,200,true,100,400,100,0,10,4,false,gpu-a,,false")
    expect(csv).toContain("x-2,1000.000000,1000.000000,500,false,,400,,0,10,4,false,,\"HTTP 500: \"\"bad\"\", really\nyes\",false\n")
  })
})

describe("compare", () => {
  it("each figure of both runs with the relative change", () => {
    const a = reportOf([record({ ttft_ms: 100 })])
    const b = reportOf([record({ ttft_ms: 150 })])
    const rows = compareReports(a, b)
    expect(rows.find((r) => r.figure === "mean_ttft_ms")).toEqual({ figure: "mean_ttft_ms", a: 100, b: 150, change: 0.5 })
    expect(rows.find((r) => r.figure === "failed")).toEqual({ figure: "failed", a: 0, b: 0, change: null })
    expect(rows.find((r) => r.figure === "request_goodput")).toEqual({ figure: "request_goodput", a: null, b: null, change: null })
  })
})
