import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import OpenAI from "openai"
import { tempDbPath } from "./support/Balancer.js"
import { runToExit, spawnBalancer } from "./support/Process.js"

const TOKEN = "dist-admin-token-0123456789"

describe("the built balancer (dist/main.js)", () => {
  it.scopedLive("serves the OpenAI client unmodified: chat, streaming, completions, embeddings, models", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 3 })
      const lb = yield* spawnBalancer({ LB_DB_PATH: tempDbPath(), LB_ADMIN_TOKEN: TOKEN })
      const created = yield* Effect.promise(() =>
        fetch(`${lb.url}/admin/api/endpoints`, {
          method: "POST",
          headers: { "x-admin-token": TOKEN, "content-type": "application/json" },
          body: JSON.stringify({ name: "sim", base_url: upstream.baseUrl, connected: true })
        })
      )
      expect(created.status).toBe(201)

      const openai = new OpenAI({ baseURL: `${lb.url}/v1`, apiKey: "any", maxRetries: 0 })
      const messages = [{ role: "user" as const, content: "hello" }]
      yield* Effect.promise(async () => {
        const chat = await openai.chat.completions.create({ model: "m1", messages })
        expect(chat.choices[0]!.message.content).toBe(" tok1 tok2 tok3")
        let streamed = ""
        for await (const chunk of await openai.chat.completions.create({ model: "m1", messages, stream: true })) {
          streamed += chunk.choices[0]?.delta.content ?? ""
        }
        expect(streamed).toBe(" tok1 tok2 tok3")
        const completion = await openai.completions.create({ model: "m1", prompt: "say", max_tokens: 2 })
        expect(completion.choices[0]!.text).toBe(" tok1 tok2")
        const embedding = await openai.embeddings.create({ model: "m1", input: "vector me" })
        expect(embedding.data[0]!.embedding).toHaveLength(8)
        const models = await openai.models.list()
        expect(models.data.map((m) => m.id)).toEqual(["m1"])
      })
      const health = yield* Effect.promise(() => fetch(`${lb.url}/health`).then((r) => r.json()))
      expect(health).toMatchObject({ status: "ok", endpoints: 1, connected: 1 })
    }))

  it.scopedLive("exits 0 on SIGTERM", () =>
    Effect.gen(function*() {
      const lb = yield* spawnBalancer({ LB_DB_PATH: tempDbPath(), LB_ADMIN_TOKEN: TOKEN })
      lb.child.kill("SIGTERM")
      expect(yield* Effect.promise(() => lb.exited)).toBe(0)
    }))

  it.scopedLive("warns at start while LB_ADMIN_TOKEN is the default or short", () =>
    Effect.gen(function*() {
      const byDefault = yield* spawnBalancer({ LB_DB_PATH: tempDbPath() })
      const short = yield* spawnBalancer({ LB_DB_PATH: tempDbPath(), LB_ADMIN_TOKEN: "short" })
      const strong = yield* spawnBalancer({ LB_DB_PATH: tempDbPath(), LB_ADMIN_TOKEN: TOKEN })
      // A JSON line like every other log (it used to come out in logfmt, before the JSON logger was in place).
      for (const lb of [byDefault, short]) {
        const line = lb.output().split("\n").find((l) => l.includes("LB_ADMIN_TOKEN"))
        expect(JSON.parse(line ?? "null")).toMatchObject({ logLevel: "WARN", message: expect.stringContaining("LB_ADMIN_TOKEN") })
      }
      expect(strong.output()).not.toContain("LB_ADMIN_TOKEN")
    }))

  it.effect.each([
    ["LB_PORT", "not-a-port"],
    ["LB_PORT", "70000"],
    ["LB_FAIL_THRESHOLD", "0"],
    ["LB_COOLDOWN_SECONDS", "-1"],
    ["LB_MAX_REQUEST_BODY_BYTES", "lots"],
    ["LB_LOG_LEVEL", "CHATTY"],
    ["LB_ADMIN_TOKEN", ""]
  ] as const)("refuses to start with %s=%j and names the variable", ([name, value]) =>
    Effect.gen(function*() {
      const { code, output } = yield* runToExit({ LB_DB_PATH: tempDbPath(), LB_ADMIN_TOKEN: TOKEN, [name]: value })
      expect(code).not.toBe(0)
      expect(output).toContain(name)
    }))
})
