/**
 * Measured against the upstream simulator, whose timings are known: the figures match its settings.
 * The simulator runs in this process (one event loop for both): that is the harder case for the client.
 * Its `preciseTimers` send each token at its due time, not up to a millisecond late as Node's timers do,
 * so that the differences measured are the client's.
 *
 * On a machine so loaded that this process is not scheduled for milliseconds at a time, no client can
 * time chunks to 2 ms; the engine's self-check sees it (event-loop delay p99 above 5 ms). Such a run is
 * measured again (at most 3 attempts); the last attempt is asserted whatever the self-check said. Other test
 * files share the two cores, so a run that the self-check did not flag can still miss by a fraction of a
 * millisecond over 2: each accuracy test is retried twice before it fails.
 */
import { describe, expect, it } from "vitest"
import type { RunResult } from "../src/Run.js"
import { run, useSim } from "./support.js"

const ATTEMPTS = 3

const unlessSaturated = async <A extends RunResult>(attempt: () => Promise<A>): Promise<A> => {
  for (let i = 1; ; i++) {
    const result = await attempt()
    if (i === ATTEMPTS || !result.report.self_check.saturated) return result
  }
}

const TTFT = 40
const ITL = 10
const TOKENS = 20
/** At concurrency 50: longer gaps and fewer tokens, 2000 chunks a second for the simulator and the client together. */
const ITL_50 = 25
const TOKENS_50 = 8

const expectNear = (measured: number, want: number, tolerance: number, what: string) => {
  expect(Math.abs(measured - want), `${what}: measured ${measured.toFixed(3)} ms, set ${want} ms`).toBeLessThanOrEqual(tolerance)
}

describe("accuracy against the simulator", () => {
  for (const concurrency of [1, 50]) {
    it(`TTFT, ITL, TPOT and E2EL match the simulator within 2 ms at p50, concurrency ${concurrency}`, async () => {
      const itl = concurrency === 1 ? ITL : ITL_50
      const tokens = concurrency === 1 ? TOKENS : TOKENS_50
      const requests = concurrency === 1 ? 20 : 150
      const result = await unlessSaturated(async () => {
        const sim = await useSim({ ttftMs: TTFT, interTokenMs: itl, outputTokens: tokens, preciseTimers: true })
        const result = await run({ base_url: sim.baseUrl, concurrency, requests, warmup: { requests: concurrency } })
        return { ...result, counters: sim.counters() }
      })
      const r = result.report
      const context = `(event-loop delay p99 ${r.self_check.event_loop_delay_p99_ms.toFixed(1)} ms)`
      expect(result.status).toBe("done")
      expect(r.completed).toBe(requests)
      expectNear(r.p50_ttft_ms, TTFT, 2, `TTFT ${context}`)
      expectNear(r.p50_itl_ms, itl, 2, `ITL ${context}`)
      expectNear(r.p50_tpot_ms, itl, 2, `TPOT ${context}`)
      expectNear(r.p50_e2el_ms, TTFT + (tokens - 1) * itl, 2, `E2EL ${context}`)
      // the token counts are the simulator's (warm-up included there), none estimated
      expect(r.total_output_tokens).toBe(requests * tokens)
      expect(r.output_lens.every((n) => n === tokens)).toBe(true)
      expect(r.output_tokens_estimated).toBe(0)
      const warmupInput = result.records.filter((x) => x.warmup).reduce((sum, x) => sum + x.input_tokens, 0)
      expect(r.total_input_tokens + warmupInput).toBe(result.counters.promptTokens)
      expect(result.counters.completionTokens).toBe((requests + concurrency) * tokens)
    }, { timeout: 60_000, retry: 2 })
  }

  it("TTFT counts from the first chunk carrying output: an early role-only chunk does not count", async () => {
    const sim = await useSim({ ttftMs: 60, interTokenMs: 5, outputTokens: 5, roleChunkEarly: true, preciseTimers: true })
    const { report } = await run({ base_url: sim.baseUrl, concurrency: 1, requests: 10 })
    // counting the role chunk would give about 0 ms: every request waits for its first token, 60 ms
    expect(Math.min(...report.ttfts)).toBeGreaterThanOrEqual(0.0595)
  }, 30_000)

  it("continuous usage: each chunk's tokens are known, token ITL from them", async () => {
    const sim = await useSim({ ttftMs: 10, interTokenMs: ITL, outputTokens: TOKENS, preciseTimers: true })
    const { report, records } = await run({ base_url: sim.baseUrl, concurrency: 2, requests: 6, continuous_usage: true })
    expect(records.every((r) => r.chunk_tokens !== null && r.chunk_tokens.length === TOKENS && r.chunk_tokens.every((k) => k === 1))).toBe(true)
    // one token a chunk: the token gaps are the chunk gaps
    expect(report.mean_token_itl_ms).toBeCloseTo(report.mean_itl_ms, 9)
    expect(report.total_output_tokens).toBe(6 * TOKENS)
  }, 30_000)

  it("without usage in the stream, output tokens are the output chunks, flagged estimated", async () => {
    const sim = await useSim({ outputTokens: 7 })
    const { report, records } = await run({ base_url: sim.baseUrl, requests: 3, extra_body: { stream_options: null } })
    expect(records.map((r) => [r.output_tokens, r.estimated])).toEqual([[7, true], [7, true], [7, true]])
    expect(report.output_tokens_estimated).toBe(3)
  }, 30_000)

  it("non-streaming: TTFT is the whole answer's time, tokens from usage", async () => {
    const sim = await useSim({ ttftMs: 30, interTokenMs: 5, outputTokens: 9, preciseTimers: true })
    const { report } = await run({ base_url: sim.baseUrl, requests: 5, stream: false })
    // the whole generation: first token and 8 gaps (the figures' accuracy is the tests above)
    expect(Math.min(...report.ttfts)).toBeGreaterThanOrEqual(0.0695)
    expect(report.p50_e2el_ms).toBe(report.p50_ttft_ms)
    expect(report.total_output_tokens).toBe(45)
  }, 30_000)

  it("the completions route streams text chunks", async () => {
    const sim = await useSim({ ttftMs: 20, interTokenMs: ITL, outputTokens: 10, preciseTimers: true })
    const { report } = await run({ base_url: sim.baseUrl, requests: 5, route: "completions", max_tokens: 4 })
    expect(report.endpoint_type).toBe("openai")
    expect(report.total_output_tokens).toBe(20)
    expect(Math.min(...report.ttfts)).toBeGreaterThanOrEqual(0.0195)
    expect(report.itls.every((gaps) => gaps.length === 3)).toBe(true)
    expect(sim.counters().byRoute["/v1/completions"]).toBe(5)
  }, 30_000)
})
