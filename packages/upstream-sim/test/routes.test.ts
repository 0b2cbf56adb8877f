import { describe, expect, it } from "vitest"
import { chatBody, clientFor, post, sseData, useSim } from "./helpers.js"

describe("chat completions", () => {
  it("answers non-streaming with vLLM's body and exact usage", async () => {
    const sim = await useSim()
    const res = await clientFor(sim).chat.completions.create({
      model: "sim-model",
      messages: [
        { role: "system", content: "be  brief" },
        { role: "user", content: [{ type: "text", text: "hello\tthere world" }, { type: "text", text: "again" }] }
      ]
    })
    expect(res.id).toMatch(/^chatcmpl-[0-9a-f]+$/)
    expect(res.object).toBe("chat.completion")
    expect(res.model).toBe("sim-model")
    expect(res.choices).toHaveLength(1)
    const choice = res.choices[0]!
    expect(choice.message).toEqual({ role: "assistant", content: contentOf(16), tool_calls: [] })
    expect(choice.finish_reason).toBe("stop")
    expect(res.usage).toEqual({ prompt_tokens: 6, completion_tokens: 16, total_tokens: 22, prompt_tokens_details: null })
    expect(res).toMatchObject({ prompt_logprobs: null, choices: [{ index: 0, logprobs: null, stop_reason: null }] })
    expect(sim.counters()).toMatchObject({ requests: 1, completed: 1, promptTokens: 6, completionTokens: 16 })
  })

  it("cuts at max_tokens / max_completion_tokens with finish_reason length", async () => {
    const sim = await useSim({ outputTokens: 10 })
    const client = clientFor(sim)
    const a = await client.chat.completions.create({ model: "sim-model", messages: [{ role: "user", content: "x" }], max_tokens: 3 })
    expect(a.choices[0]!.message.content).toBe(" tok1 tok2 tok3")
    expect(a.choices[0]!.finish_reason).toBe("length")
    expect(a.usage?.completion_tokens).toBe(3)
    const b = await client.chat.completions.create({
      model: "sim-model",
      messages: [{ role: "user", content: "x" }],
      max_tokens: 100,
      max_completion_tokens: 2
    })
    expect(b.usage?.completion_tokens).toBe(2)
    const c = await client.chat.completions.create({ model: "sim-model", messages: [{ role: "user", content: "x" }], max_tokens: 10 })
    expect(c.choices[0]!.finish_reason).toBe("stop")
    expect(c.usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 10 })
  })

  it("streams one token per chunk, usage only when asked", async () => {
    const sim = await useSim({ outputTokens: 5 })
    const client = clientFor(sim)
    const plain = await client.chat.completions.create({ ...chatBody(), stream: true })
    const chunks = []
    for await (const chunk of plain) chunks.push(chunk)
    expect(chunks).toHaveLength(6)
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" })
    expect(chunks.slice(1).map((c) => c.choices[0]!.delta.content)).toEqual([" tok1", " tok2", " tok3", " tok4", " tok5"])
    expect(chunks.map((c) => c.choices[0]!.finish_reason)).toEqual([null, null, null, null, null, "stop"])
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && !("usage" in c))).toBe(true)
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1)

    const withUsage = await client.chat.completions.create({
      ...chatBody(),
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true }
    })
    const all = []
    for await (const chunk of withUsage) all.push(chunk)
    expect(all).toHaveLength(5)
    expect(all.slice(0, 4).every((c) => c.usage === null)).toBe(true)
    expect(all[3]!.choices[0]!.finish_reason).toBe("length")
    expect(all[4]!.choices).toEqual([])
    expect(all[4]!.usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6, prompt_tokens_details: null })
    expect(sim.counters()).toMatchObject({ completed: 2, promptTokens: 6, completionTokens: 8 })
  })

  it("writes raw SSE: text/event-stream, one event per chunk, [DONE] last", async () => {
    const sim = await useSim({ outputTokens: 2 })
    const res = await post(`${sim.baseUrl}/chat/completions`, chatBody({ stream: true, stream_options: { include_usage: true } }))
    expect(res.status).toBe(200)
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/)
    const data = sseData(await res.text())
    expect(data).toHaveLength(5)
    expect(data.at(-1)).toBe("[DONE]")
    expect(JSON.parse(data[3]!)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })
  })

  it("streams max_tokens 0 as one finishing chunk", async () => {
    const sim = await useSim()
    const res = await post(`${sim.baseUrl}/chat/completions`, chatBody({ stream: true, max_tokens: 0 }))
    const data = sseData(await res.text())
    expect(data).toHaveLength(3)
    expect(JSON.parse(data[1]!).choices[0]).toMatchObject({ delta: { content: "" }, finish_reason: "length" })
  })

  it("paces tokens with ttftMs and interTokenMs", async () => {
    const sim = await useSim({ ttftMs: 60, interTokenMs: 20, outputTokens: 4 })
    const t0 = performance.now()
    const stream = await clientFor(sim).chat.completions.create({ ...chatBody(), stream: true })
    const times: Array<number> = []
    for await (const _ of stream) times.push(performance.now() - t0)
    expect(times[0]!).toBeGreaterThanOrEqual(55)
    expect(times.at(-1)! - times[1]!).toBeGreaterThanOrEqual(55) // three gaps of 20 ms
    const t1 = performance.now()
    await clientFor(sim).chat.completions.create(chatBody())
    expect(performance.now() - t1).toBeGreaterThanOrEqual(110) // 60 + 3 x 20
  })
})

const contentOf = (n: number) => Array.from({ length: n }, (_, i) => ` tok${i + 1}`).join("")

describe("completions", () => {
  it("answers text_completion, batched prompts one choice each", async () => {
    const sim = await useSim({ outputTokens: 4 })
    const client = clientFor(sim)
    const one = await client.completions.create({ model: "sim-model", prompt: "once upon a time" })
    expect(one.object).toBe("text_completion")
    expect(one.id).toMatch(/^cmpl-/)
    expect(one.choices).toEqual([{ index: 0, text: contentOf(4), logprobs: null, finish_reason: "stop", stop_reason: null }])
    expect(one.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 })
    const batch = await client.completions.create({ model: "sim-model", prompt: ["a b", "c"], max_tokens: 2 })
    expect(batch.choices.map((c) => [c.index, c.text, c.finish_reason])).toEqual([[0, " tok1 tok2", "length"], [1, " tok1 tok2", "length"]])
    expect(batch.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 })
    const ids = await client.completions.create({ model: "sim-model", prompt: [1, 2, 3, 4, 5] })
    expect(ids.usage?.prompt_tokens).toBe(5)
  })

  it("streams text chunks with usage", async () => {
    const sim = await useSim({ outputTokens: 3 })
    const stream = await clientFor(sim).completions.create({
      model: "sim-model",
      prompt: "hi",
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks = []
    for await (const c of stream) chunks.push(c)
    expect(chunks.slice(0, 3).map((c) => c.choices[0]!.text)).toEqual([" tok1", " tok2", " tok3"])
    expect(chunks[2]!.choices[0]!.finish_reason).toBe("stop")
    expect(chunks[3]!.choices).toEqual([])
    expect(chunks[3]!.usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 })
  })
})

describe("embeddings", () => {
  it("answers base64 (the openai client's default) and float with the same deterministic vectors", async () => {
    const sim = await useSim({ embeddingDims: 12 })
    const client = clientFor(sim)
    const b64 = await client.embeddings.create({ model: "sim-model", input: ["hello world", "bye"] })
    const floats = await client.embeddings.create({ model: "sim-model", input: ["hello world", "bye"], encoding_format: "float" })
    expect((sim.received()[0]!.body as { encoding_format: string }).encoding_format).toBe("base64")
    expect(b64.data.map((d) => d.index)).toEqual([0, 1])
    expect(b64.data[0]!.object).toBe("embedding")
    expect(b64.data[0]!.embedding).toHaveLength(12)
    expect(b64.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding))
    expect(b64.data[0]!.embedding).not.toEqual(b64.data[1]!.embedding)
    const norm = Math.hypot(...floats.data[0]!.embedding)
    expect(norm).toBeCloseTo(1, 5)
    expect(floats.usage).toMatchObject({ prompt_tokens: 3, total_tokens: 3 })
    const again = await client.embeddings.create({ model: "sim-model", input: "bye", encoding_format: "float" })
    expect(again.data[0]!.embedding).toEqual(floats.data[1]!.embedding)
    const tokens = await client.embeddings.create({ model: "sim-model", input: [[1, 2], [3]], encoding_format: "float" })
    expect(tokens.usage.prompt_tokens).toBe(3)
    expect(sim.counters()).toMatchObject({ completed: 4, completionTokens: 0 })
  })
})

describe("models, metrics, received", () => {
  it("lists the models like vLLM", async () => {
    const sim = await useSim({ models: ["m1", "m2"] })
    const page = await clientFor(sim).models.list()
    expect(page.data.map((m) => m.id)).toEqual(["m1", "m2"])
    expect(page.data[0]).toMatchObject({ object: "model", owned_by: "vllm", root: "m1", parent: null, max_model_len: 8192 })
    sim.set({ models: ["m3"] })
    const raw = await (await fetch(`${sim.baseUrl}/models`)).json()
    expect(raw).toMatchObject({ object: "list", data: [{ id: "m3" }] })
  })

  it("exposes Prometheus metrics per model", async () => {
    const sim = await useSim({ models: ["a", "b"], maxConcurrency: 4, ttftMs: 200 })
    const client = clientFor(sim)
    const pending = client.chat.completions.create({ model: "a", messages: [{ role: "user", content: "x" }] })
    await new Promise((r) => setTimeout(r, 50))
    const res = await fetch(`${sim.url}/metrics`)
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/)
    const text = await res.text()
    expect(text).toContain(`vllm:num_requests_running{model_name="a"} 1`)
    expect(text).toContain(`vllm:num_requests_running{model_name="b"} 0`)
    expect(text).toContain(`vllm:num_requests_waiting{model_name="a"} 0`)
    expect(text).toContain(`vllm:kv_cache_usage_perc{model_name="a"} 0.25`)
    expect(text).toContain("# TYPE vllm:num_requests_running gauge")
    await pending
    expect(await (await fetch(`${sim.url}/metrics`)).text()).toContain(`vllm:generation_tokens_total{model_name="a"} 16`)
  })

  it("records the last 200 /v1 requests and resets", async () => {
    const sim = await useSim()
    await post(`${sim.baseUrl}/chat/completions`, chatBody({ user: "u1" }), { "x-request-id": "r1" })
    await post(`${sim.baseUrl}/chat/completions`, "not json")
    await fetch(`${sim.url}/metrics`)
    const [first, second] = sim.received()
    expect(first).toMatchObject({ method: "POST", path: "/v1/chat/completions", body: { user: "u1" } })
    expect(first!.headers["x-request-id"]).toBe("r1")
    expect(second!.body).toBe("not json")
    expect(sim.received()).toHaveLength(2)
    await Promise.all(Array.from({ length: 210 }, (_, i) => post(`${sim.baseUrl}/chat/completions`, chatBody({ user: `n${i}` }))))
    const all = sim.received()
    expect(all).toHaveLength(200)
    expect(sim.counters().requests).toBe(212)
    sim.reset()
    expect(sim.received()).toEqual([])
    expect(sim.counters()).toMatchObject({ requests: 0, completed: 0, byRoute: {} })
  })
})
