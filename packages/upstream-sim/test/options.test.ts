import { Effect } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseCli } from "../src/CliArgs.js"
import { simScoped, startSim, SimOptionsError } from "../src/index.js"
import { chatBody, clientFor, post, useSim } from "./helpers.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))

describe("options", () => {
  it("startSim and set validate, naming the field", async () => {
    await expect(startSim({ ttftMs: -1 })).rejects.toThrow(/ttftMs/)
    await expect(startSim({ models: [] })).rejects.toBeInstanceOf(SimOptionsError)
    await expect(startSim({ fault: { kind: "status", status: 200 } })).rejects.toThrow(/fault.status/)
    const sim = await useSim()
    expect(() => sim.set({ outputTokens: 1.5 })).toThrow(/outputTokens/)
    expect(() => sim.set({ fault: { kind: "slow-headers", delayMs: Number.NaN } })).toThrow(/delayMs/)
    expect(() => sim.set({ embeddingDims: 0 })).toThrow(/embeddingDims/)
    expect(sim.options.outputTokens).toBe(16)
    sim.set({ outputTokens: 2, models: ["x"] })
    expect(sim.options).toMatchObject({ outputTokens: 2, models: ["x"] })
    const res = await clientFor(sim).chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] })
    expect(res.usage?.completion_tokens).toBe(2)
  })

  it("control routes: /sim/config (validated), /sim/stats, /sim/reset", async () => {
    const sim = await useSim()
    const bad = await post(`${sim.url}/sim/config`, { maxConcurrency: -2 })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("maxConcurrency")
    expect((await post(`${sim.url}/sim/config`, { colour: "red" })).status).toBe(400)
    expect((await post(`${sim.url}/sim/config`, "{")).status).toBe(400)
    const ok = await post(`${sim.url}/sim/config`, { outputTokens: 3, fault: { kind: "status", status: 502, every: 2 } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ outputTokens: 3, fault: { kind: "status", status: 502, every: 2 } })
    expect(sim.options.outputTokens).toBe(3)
    expect((await post(`${sim.baseUrl}/chat/completions`, chatBody())).status).toBe(200)
    expect((await post(`${sim.baseUrl}/chat/completions`, chatBody())).status).toBe(502)
    const stats = await (await fetch(`${sim.url}/sim/stats`)).json()
    expect(stats).toMatchObject({ requests: 2, completed: 1, faults: 1, completionTokens: 3, byRoute: { "/v1/chat/completions": 2 } })
    expect(await (await fetch(`${sim.url}/sim/config`)).json()).toMatchObject({ outputTokens: 3 })
    expect((await post(`${sim.url}/sim/reset`, {})).status).toBe(200)
    expect(sim.counters()).toMatchObject({ requests: 0, faults: 0, completed: 0 })
  })

  it("simScoped closes the sim with its scope", async () => {
    const url = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const sim = yield* simScoped({ models: ["scoped"] })
      const res = yield* Effect.promise(() => fetch(`${sim.baseUrl}/models`).then((r) => r.json()))
      expect(res).toMatchObject({ data: [{ id: "scoped" }] })
      return sim.url
    })))
    await expect(fetch(`${url}/v1/models`)).rejects.toThrow()
  })
})

describe("cli", () => {
  it("parses flags into options; rejects bad values", () => {
    expect(parseCli(["--help"])).toEqual({ kind: "help" })
    expect(parseCli([
      "--port", "9001", "--model", "m1", "--model", "m2", "--ttft-ms", "50", "--itl-ms", "10", "--output-tokens", "64",
      "--max-concurrency", "8", "--api-key", "k", "--fault-status", "500", "--fault-every", "3"
    ])).toEqual({
      kind: "run",
      options: {
        port: 9001,
        host: "127.0.0.1",
        models: ["m1", "m2"],
        ttftMs: 50,
        interTokenMs: 10,
        outputTokens: 64,
        maxConcurrency: 8,
        apiKey: "k",
        fault: { kind: "status", status: 500, every: 3 }
      }
    })
    expect(parseCli(["--fault", "close-mid-stream", "--fault-after-chunks", "2"])).toMatchObject({
      options: { fault: { kind: "close-mid-stream", afterChunks: 2 } }
    })
    expect(() => parseCli(["--ttft-ms", "-5"])).toThrow(/ttft-ms/)
    expect(() => parseCli(["--port", "70000"])).toThrow(/port/)
    expect(() => parseCli(["--fault-status", "200"])).toThrow(/fault.status/)
    expect(() => parseCli(["--fault", "slow-headers"])).toThrow(/fault-delay-ms/)
    expect(() => parseCli(["--fault", "hang", "--fault-every", "2"])).toThrow(/fault-every/)
    expect(() => parseCli(["--bogus"])).toThrow(/bogus/)
  })

  const runCli = (args: ReadonlyArray<string>) => {
    const child = spawn(`${root}node_modules/.bin/tsx`, ["packages/upstream-sim/src/cli.ts", ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    return { child, exit, out: () => stdout, err: () => stderr }
  }

  it("starts on --port 0, prints its URL, answers, exits 0 on SIGTERM", async () => {
    const cli = runCli(["--port", "0", "--model", "cli-model", "--output-tokens", "4"])
    try {
      const deadline = Date.now() + 8_000
      let url: string | undefined
      while (url === undefined && Date.now() < deadline) {
        url = /http:\/\/127\.0\.0\.1:\d+/.exec(cli.out())?.[0]
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(url, cli.err()).toBeDefined()
      const res = await post(`${url}/v1/chat/completions`, { model: "cli-model", messages: [{ role: "user", content: "x y" }] })
      expect(await res.json()).toMatchObject({ usage: { prompt_tokens: 2, completion_tokens: 4 } })
      cli.child.kill("SIGTERM")
      expect(await cli.exit).toBe(0)
    } finally {
      cli.child.kill("SIGKILL")
    }
  })

  it("exits 2 with a message on a bad value", async () => {
    const cli = runCli(["--max-concurrency", "lots"])
    expect(await cli.exit).toBe(2)
    expect(cli.err()).toContain("--max-concurrency")
  })
})
