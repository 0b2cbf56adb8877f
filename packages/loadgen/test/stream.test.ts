/** What counts as output in a stream, against a server that sends a scripted stream. */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it, onTestFinished } from "vitest"
import { run, useSim } from "./support.js"

/** A server streaming `events` (data payloads), each after its delay in ms from the previous one. */
const scripted = async (events: ReadonlyArray<readonly [number, string]>, headers: Record<string, string> = {}) => {
  const server = http.createServer((req, res) => {
    req.resume()
    req.on("end", async () => {
      res.writeHead(200, { "content-type": "text/event-stream", ...headers })
      res.flushHeaders()
      for (const [delay, data] of events) {
        await new Promise((r) => setTimeout(r, delay))
        res.write(`data: ${data}\n\n`)
      }
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
}

const chunk = (delta: Record<string, unknown>) => JSON.stringify({ choices: [{ index: 0, delta }] })
const role = chunk({ role: "assistant", content: "" })

describe("output chunks", () => {
  it("reasoning counts as output: TTFT at the first reasoning chunk, not at the role chunk", async () => {
    const base = await scripted([[0, role], [80, chunk({ reasoning_content: "hmm" })], [20, chunk({ content: "Hi" })], [0, "[DONE]"]])
    const { records } = await run({ base_url: base, model: "m", requests: 1 })
    const r = records[0]!
    expect(r.ok).toBe(true)
    // not the role chunk at 0 ms; the reasoning chunk and the content chunk are the two output chunks
    expect(r.ttft_ms!).toBeGreaterThan(70)
    expect(r.itls_ms).toHaveLength(1)
    expect(r.output_tokens).toBe(2)
    expect(r.estimated).toBe(true)
  }, 30_000)

  it("a tool call counts as output", async () => {
    const call = chunk({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "f", arguments: "" } }] })
    const base = await scripted([[0, role], [60, call], [0, "[DONE]"]])
    const { records } = await run({ base_url: base, model: "m", requests: 1 })
    expect(records[0]!.ttft_ms!).toBeGreaterThan(50)
    expect(records[0]!.output_tokens).toBe(1)
  }, 30_000)

  it("usage from the last chunk gives the tokens; the usage-only chunk is not output", async () => {
    const usage = JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } })
    const base = await scripted([[0, role], [10, chunk({ content: "a b c" })], [10, chunk({ content: "d" })], [400, usage], [0, "[DONE]"]])
    const started = performance.now()
    const { records } = await run({ base_url: base, model: "m", requests: 1 })
    const wall = performance.now() - started
    const r = records[0]!
    expect([r.input_tokens, r.output_tokens, r.estimated]).toEqual([5, 9, false])
    // E2EL ends at the last output chunk, not at the usage chunk 400 ms later
    expect(r.e2el_ms! + 390).toBeLessThan(wall)
  }, 30_000)

  it("an error event in the stream fails the request with its message", async () => {
    const base = await scripted([[0, role], [0, chunk({ content: "a" })], [0, JSON.stringify({ error: { message: "upstream broke" } })], [0, "[DONE]"]])
    const { records } = await run({ base_url: base, model: "m", requests: 1 })
    expect(records[0]).toMatchObject({ ok: false, status: 200, error: "stream error: upstream broke" })
  }, 30_000)

  it("the X-LB-Endpoint of the answer is kept", async () => {
    const base = await scripted([[0, chunk({ content: "a" })], [0, "[DONE]"]], { "x-lb-endpoint": "gpu-7" })
    const { report } = await run({ base_url: base, model: "m", requests: 2 })
    expect(Object.keys(report.endpoints)).toEqual(["gpu-7"])
  }, 30_000)

  it("a connection closed mid-stream fails the request", async () => {
    const sim = await useSim({ outputTokens: 10, fault: { kind: "close-mid-stream", afterChunks: 3 } })
    const { records } = await run({ base_url: sim.baseUrl, requests: 1 })
    expect(records[0]!.ok).toBe(false)
    expect(records[0]!.error).toBeTruthy()
  }, 30_000)
})
