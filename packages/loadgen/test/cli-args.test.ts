import { describe, expect, it } from "@effect/vitest"
import { parseArgs } from "../src/CliArgs.js"

const base = ["--base-url", "http://127.0.0.1:8090/v1"]

describe("loadtest arguments", () => {
  it("flags become the settings, in snake_case", () => {
    const parsed = parseArgs([
      ...base, "--concurrency", "8", "--requests", "200", "--model", "m", "--route", "completions", "--no-stream",
      "--max-tokens", "64", "--temperature", "0.5", "--warmup", "10r", "--duration", "2m", "--goodput", "ttft:500,tpot:50",
      "--ramp", "1:16", "--max-error-rate", "0.1", "--seed", "7", "--extra-body", "{\"top_k\":5}", "--ignore-eos",
      "--continuous-usage", "--json", "out.json", "--csv", "out.csv", "--quiet", "--fail-if", "p99_ttft_ms>500"
    ])
    expect(parsed).toMatchObject({
      kind: "run",
      json: "out.json",
      csv: "out.csv",
      quiet: true,
      failIf: [{ figure: "p99_ttft_ms", op: ">", value: 500 }],
      settings: {
        base_url: "http://127.0.0.1:8090/v1",
        concurrency: 8,
        requests: 200,
        model: "m",
        route: "completions",
        stream: false,
        max_tokens: 64,
        temperature: 0.5,
        warmup: { requests: 10 },
        duration: 120,
        goodput: { ttft_ms: 500, tpot_ms: 50 },
        ramp: { from: 1, to: 16 },
        max_error_rate: 0.1,
        seed: 7,
        extra_body: { top_k: 5 },
        ignore_eos: true,
        continuous_usage: true
      }
    })
  })

  it("defaults: chat, streaming, 128 tokens, burstiness 1, timeout 600 s, seed 0, one worker", () => {
    expect(parseArgs([...base, "--rate=5", "--warmup=3"])).toMatchObject({
      kind: "run",
      settings: { route: "chat", stream: true, max_tokens: 128, burstiness: 1, timeout: 600, seed: 0, workers: 1, rate: 5, warmup: { seconds: 3 } }
    })
  })

  for (
    const [args, message] of [
      [[], "--base-url: required"],
      [[...base, "--rate", "fast"], "--rate: expected a number"],
      [[...base, "--rate", "-1"], "--rate: Expected a positive number"],
      [[...base, "--concurrency", "1.5"], "--concurrency: Expected an integer"],
      [[...base, "--route", "embeddings"], "--route: Expected \"chat\""],
      [[...base, "--max-error-rate", "2"], "--max-error-rate: Expected a number between 0 and 1"],
      [[...base, "--ramp", "1-5"], "--ramp: expected FROM:TO"],
      [[...base, "--ramp", "1:5", "--concurrency", "4"], "--ramp: a concurrency ramp needs duration"],
      [[...base, "--goodput", "ttft=5"], "--goodput: expected ttft:MS"],
      [[...base, "--fail-if", "p99 above 5"], "--fail-if: bad condition"],
      [[...base, "--bogus"], "--bogus: unknown flag"],
      [[...base, "--duration"], "--duration: needs a value"],
      [["--base-url", "localhost:8090"], "--base-url: must be an http(s) URL"]
    ] as const
  ) {
    it(`bad arguments give one line naming the flag: ${args.slice(2).join(" ") || "(none)"}`, () => {
      const parsed = parseArgs(args)
      expect(parsed.kind).toBe("error")
      expect((parsed as { message: string }).message.startsWith(message)).toBe(true)
      expect((parsed as { message: string }).message).not.toContain("\n")
    })
  }

  it("compare takes two files", () => {
    expect(parseArgs(["compare", "a.json", "b.json"])).toEqual({ kind: "compare", a: "a.json", b: "b.json" })
    expect(parseArgs(["compare", "a.json"]).kind).toBe("error")
  })
})
