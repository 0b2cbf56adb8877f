import OpenAI from "openai"
import { describe, expect, it } from "vitest"
import { chatBody, clientFor, post, useSim } from "./helpers.js"

const expectBadRequest = async (res: Response, messagePart: string) => {
  expect(res.status).toBe(400)
  const body = await res.json() as { error: Record<string, unknown> }
  expect(body.error).toMatchObject({ type: "BadRequestError", param: null, code: 400 })
  expect(body.error["message"]).toContain(messagePart)
}

describe("vLLM-style errors", () => {
  it("400 for malformed JSON and wrong types, naming the field", async () => {
    const sim = await useSim()
    const chat = `${sim.baseUrl}/chat/completions`
    await expectBadRequest(await post(chat, "{\"model\":"), "JSON")
    await expectBadRequest(await post(chat, [1, 2]), "JSON object")
    await expectBadRequest(await post(chat, { messages: [] }), "model")
    await expectBadRequest(await post(chat, { model: 7, messages: [] }), "model")
    await expectBadRequest(await post(chat, { model: "sim-model" }), "messages")
    await expectBadRequest(await post(chat, { model: "sim-model", messages: "hi" }), "messages")
    await expectBadRequest(await post(chat, { model: "sim-model", messages: [{ content: "x" }] }), "role")
    await expectBadRequest(await post(chat, { model: "sim-model", messages: [{ role: "user", content: 5 }] }), "content")
    await expectBadRequest(await post(chat, chatBody({ stream: "yes" })), "stream")
    await expectBadRequest(await post(chat, chatBody({ max_tokens: -1 })), "max_tokens")
    await expectBadRequest(await post(chat, chatBody({ max_tokens: 1.5 })), "max_tokens")
    await expectBadRequest(await post(chat, chatBody({ max_completion_tokens: "3" })), "max_completion_tokens")
    await expectBadRequest(await post(chat, chatBody({ temperature: "hot" })), "temperature")
    await expectBadRequest(await post(chat, chatBody({ stream_options: { include_usage: 1 } })), "include_usage")
    await expectBadRequest(await post(`${sim.baseUrl}/completions`, { model: "sim-model" }), "prompt")
    await expectBadRequest(await post(`${sim.baseUrl}/embeddings`, { model: "sim-model", input: [] }), "input")
    await expectBadRequest(
      await post(`${sim.baseUrl}/embeddings`, { model: "sim-model", input: "x", encoding_format: "hex" }),
      "encoding_format"
    )
    expect(sim.counters()).toMatchObject({ requests: 17, completed: 0, faults: 0 })
  })

  it("accepts unknown fields and nulls", async () => {
    const sim = await useSim()
    const res = await post(`${sim.baseUrl}/chat/completions`, chatBody({ foo: 1, temperature: null, max_tokens: null, top_k: 5 }))
    expect(res.status).toBe(200)
  })

  it("404 NotFoundError for an unknown model, through the openai client too", async () => {
    const sim = await useSim()
    const res = await post(`${sim.baseUrl}/chat/completions`, chatBody({ model: "gpt-9" }))
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({
      error: { message: "The model `gpt-9` does not exist.", type: "NotFoundError", param: null, code: 404 }
    })
    const err = await clientFor(sim).embeddings.create({ model: "nope", input: "x" }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
  })

  it("404 for other paths, 405 for a wrong method", async () => {
    const sim = await useSim()
    expect((await fetch(`${sim.baseUrl}/responses`)).status).toBe(404)
    expect((await fetch(`${sim.url}/nope`)).status).toBe(404)
    expect((await fetch(`${sim.baseUrl}/chat/completions`)).status).toBe(405)
    expect((await post(`${sim.baseUrl}/models`, {})).status).toBe(405)
    expect((await fetch(`${sim.url}/health`)).status).toBe(200)
  })

  it("api key: 401 {\"error\":\"Unauthorized\"} on /v1 without it; control routes and metrics stay open", async () => {
    const sim = await useSim({ apiKey: "secret" })
    const res = await post(`${sim.baseUrl}/chat/completions`, chatBody())
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: "Unauthorized" })
    expect((await fetch(`${sim.baseUrl}/models`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401)
    await expect(clientFor(sim, "wrong").models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    const ok = await clientFor(sim, "secret").chat.completions.create(chatBody())
    expect(ok.usage?.completion_tokens).toBe(16)
    expect((await fetch(`${sim.url}/sim/stats`)).status).toBe(200)
    expect((await fetch(`${sim.url}/metrics`)).status).toBe(200)
    sim.set({ apiKey: null })
    expect((await post(`${sim.baseUrl}/chat/completions`, chatBody())).status).toBe(200)
  })
})
