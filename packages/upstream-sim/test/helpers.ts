import OpenAI from "openai"
import { onTestFinished } from "vitest"
import { type StartOptions, startSim, type UpstreamSim } from "../src/index.js"

/** A sim for one test, closed when the test ends. */
export const useSim = async (options: StartOptions = {}): Promise<UpstreamSim> => {
  const sim = await startSim(options)
  onTestFinished(() => sim.close())
  return sim
}

export const clientFor = (sim: UpstreamSim, apiKey = "sk-test"): OpenAI =>
  new OpenAI({ baseURL: sim.baseUrl, apiKey, maxRetries: 0, timeout: 5_000 })

/** POST a JSON body (a string is sent as is). */
export const post = (url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(signal === undefined ? {} : { signal })
  })

/** Polls until `check` holds (bounded). */
export const until = async (check: () => boolean, timeoutMs = 2_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${check.toString()}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** The `data:` payloads of an SSE body. */
export const sseData = (text: string): Array<string> =>
  text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice("data: ".length))

/** A chat request body (three prompt words) with `extra` fields, typed for the openai client. */
export const chatBody = <const E extends Record<string, unknown> = {}>(extra?: E) => ({
  model: "sim-model",
  messages: [{ role: "user" as const, content: "one two three" }],
  ...(extra as E)
})
