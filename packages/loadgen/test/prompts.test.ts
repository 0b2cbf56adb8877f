/** Prompts and the request body, checked at the simulator (it counts prompt words as tokens). */
import { describe, expect, it } from "vitest"
import { makePrompts } from "../src/Prompts.js"
import { run, useSim } from "./support.js"

const bodies = (sim: { received(): ReadonlyArray<{ path: string; body: unknown }> }) =>
  sim.received().filter((r) => r.path !== "/v1/models").map((r) => r.body as any)

describe("prompts and bodies", () => {
  it("a template fills {i} with the request index and {random_words:N} with N seeded words", () => {
    const prompts = makePrompts({ prompt: "Q{i}: {random_words:5}", input_spread: 0, seed: 1 })
    const first = prompts.text(3)
    expect(first).toMatch(/^Q3: \w{3}( \w{3}){4}$/)
    expect(prompts.text(3)).toBe(first)
    expect(makePrompts({ prompt: "Q{i}: {random_words:5}", input_spread: 0, seed: 2 }).text(3)).not.toBe(first)
  })

  it("a template's {shared:G:N} is one of G fixed texts of N words, drawn per request", () => {
    const prompts = makePrompts({ prompt: "{shared:3:50} Q{i}", input_spread: 0, seed: 1 })
    const texts = Array.from({ length: 60 }, (_, i) => prompts.text(i))
    const shared = new Set(texts.map((t) => t.slice(0, t.lastIndexOf(" Q"))))
    expect(shared.size).toBe(3)
    for (const text of shared) expect(text.split(" ")).toHaveLength(50)
    expect(texts[7]).toMatch(/ Q7$/)
  })

  it("synthetic prompts of N tokens +- the spread: the server's prompt_tokens say so", async () => {
    const sim = await useSim({ outputTokens: 1 })
    const { records } = await run({ base_url: sim.baseUrl, requests: 40, concurrency: 4, input_tokens: 100, input_spread: 10 })
    const lens = records.map((r) => r.input_tokens)
    expect(Math.min(...lens)).toBeGreaterThanOrEqual(90)
    expect(Math.max(...lens)).toBeLessThanOrEqual(110)
    expect(new Set(lens).size).toBeGreaterThan(5)
    // the estimate (4 characters a token) agrees with the server's count
    for (const body of bodies(sim)) expect(Math.round(body.messages[0].content.length / 4)).toBe(body.messages[0].content.split(" ").length)
  }, 30_000)

  it("the body: model, max_tokens, stream with include_usage, temperature, ignore_eos and the extra fields", async () => {
    const sim = await useSim()
    await run({
      base_url: sim.baseUrl,
      requests: 1,
      model: "sim-model",
      max_tokens: 7,
      temperature: 0.3,
      ignore_eos: true,
      continuous_usage: true,
      extra_body: { top_k: 4 },
      prompt: "hello"
    })
    expect(bodies(sim)[0]).toEqual({
      model: "sim-model",
      max_tokens: 7,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
      temperature: 0.3,
      ignore_eos: true,
      top_k: 4,
      messages: [{ role: "user", content: "hello" }]
    })
  }, 30_000)

  it("the completions route sends the prompt as `prompt`; without streaming no stream_options", async () => {
    const sim = await useSim()
    await run({ base_url: sim.baseUrl, requests: 1, route: "completions", stream: false, prompt: "hi there" })
    expect(bodies(sim)[0]).toEqual({ model: "sim-model", max_tokens: 128, stream: false, prompt: "hi there" })
  }, 30_000)
})
