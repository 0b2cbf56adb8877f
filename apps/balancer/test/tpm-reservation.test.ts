/**
 * A client token's tpm limit under concurrency (issue 15, item 4): each request holds its estimate
 * (prompt estimate + max_tokens) from admission, and its real usage replaces the hold at its end, so
 * requests running at once cannot together overshoot the limit. Real balancer, real simulator, the
 * official openai client.
 */
import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect } from "effect"
import OpenAI from "openai"
import { type Balancer, connectEndpoint, startBalancer } from "./support/Balancer.js"
import { closedPort, generations } from "./support/Sims.js"

/** 39 characters and 10 words: the balancer estimates 10 prompt tokens, the simulator counts 10. */
const PROMPT = Array.from({ length: 10 }, () => "abc").join(" ")
const messages = [{ role: "user" as const, content: PROMPT }]

const createToken = (lb: Balancer, body: Record<string, unknown>) =>
  lb.admin("POST", "/tokens", body).pipe(Effect.map((r) => r.body as { id: string; token: string }))

const sdk = (lb: Balancer, token: string) => new OpenAI({ baseURL: `${lb.url}/v1`, apiKey: token, maxRetries: 0 })

/** A balancer with one simulator wired to `default`, and an openai client of a token with this tpm limit. */
const setup = (sim: Parameters<typeof simScoped>[0], tpmLimit: number) =>
  Effect.gen(function*() {
    const upstream = yield* simScoped(sim)
    const lb = yield* startBalancer()
    yield* connectEndpoint(lb, upstream.baseUrl)
    const { token } = yield* createToken(lb, { name: `tpm-${tpmLimit}`, tpm_limit: tpmLimit })
    return { upstream, client: sdk(lb, token) }
  })

const rateHeaders = (headers: Headers) => ({
  limit: headers.get("x-ratelimit-limit-tokens"),
  remaining: headers.get("x-ratelimit-remaining-tokens"),
  reset: headers.get("x-ratelimit-reset-tokens"),
  retryAfter: headers.get("retry-after")
})

describe("tpm limits hold each request's estimate", () => {
  it.scopedLive("of ten concurrent requests of 110 tokens under tpm_limit 500, four run and six get 429", () =>
    Effect.gen(function*() {
      // Slow enough that all ten are in flight at once; 97 of the 100 allowed completion tokens.
      const { client, upstream } = yield* setup({ models: ["m1"], outputTokens: 97, ttftMs: 800 }, 500)

      const results = yield* Effect.promise(() =>
        Promise.allSettled(Array.from({ length: 10 }, () =>
          client.chat.completions.create({ model: "m1", messages, max_tokens: 100 }).withResponse()))
      )
      const admitted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []))
      const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []))
      expect([admitted.length, refused.length]).toEqual([4, 6])
      expect(generations(upstream)).toBe(4)

      // What the four used, counted by the upstream: within the limit (440 held, 428 used).
      const used = admitted.reduce((sum, { data }) => sum + data.usage!.total_tokens, 0)
      expect(used).toBe(4 * 107)
      // Each was admitted with its 110 held: the remaining tokens fall by 110 per admission.
      expect(admitted.map(({ response }) => Number(response.headers.get("x-ratelimit-remaining-tokens"))).sort((a, b) => b - a))
        .toEqual([390, 280, 170, 60])

      for (const error of refused) {
        expect(error).toBeInstanceOf(OpenAI.RateLimitError)
        const limited = error as InstanceType<typeof OpenAI.RateLimitError>
        expect([limited.status, limited.type, limited.code]).toEqual([429, "rate_limit_error", "rate_limit_exceeded"])
        expect(limited.message).toContain("limit 500, used 440, requested 110")
        // The four in flight hold the room; they free it as they end, so a second is the wait.
        expect(rateHeaders(limited.headers)).toEqual({ limit: "500", remaining: "60", reset: "0s", retryAfter: "1" })
      }

      // Their real usage replaced their holds: 72 left, which fits a request of 10 + 60 but not one of 110.
      const fits = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "m1", messages, max_tokens: 60 }).withResponse())
      expect(rateHeaders(fits.response.headers)).toMatchObject({ limit: "500", remaining: "2" })
      const tooBig = yield* Effect.promise(() =>
        client.chat.completions.create({ model: "m1", messages, max_tokens: 100 }).then(() => undefined, (e: unknown) => e))
      expect(tooBig).toBeInstanceOf(OpenAI.RateLimitError)
      expect((tooBig as InstanceType<typeof OpenAI.RateLimitError>).message).toContain("used 498, requested 110")
    }), 30_000)

  it.scopedLive("gives back all a failed request held", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer({ LB_MAX_ATTEMPTS: "1" })
      const dead = yield* connectEndpoint(lb, `http://127.0.0.1:${yield* closedPort}/v1`)
      const { token } = yield* createToken(lb, { name: "tpm-failed", tpm_limit: 200 })
      const client = sdk(lb, token)
      for (let i = 0; i < 3; i++) {
        // Each failure frees its 110 again: the next one sees the whole limit.
        const failed = yield* Effect.promise(() =>
          client.chat.completions.create({ model: "m1", messages, max_tokens: 100 }).then(() => undefined, (e: unknown) => e))
        expect(failed).toBeInstanceOf(OpenAI.APIError)
        const error = failed as InstanceType<typeof OpenAI.APIError>
        expect([error.status, rateHeaders(error.headers!).remaining]).toEqual([502, "90"])
      }
      const upstream = yield* simScoped({ models: ["m1"], outputTokens: 5 })
      yield* lb.admin("PATCH", `/endpoints/${dead.id}`, { base_url: upstream.baseUrl })
      const ok = yield* Effect.promise(() => client.chat.completions.create({ model: "m1", messages, max_tokens: 100 }).withResponse())
      expect([ok.data.usage!.total_tokens, rateHeaders(ok.response.headers).remaining]).toEqual([15, "90"])
    }), 30_000)

  it.scopedLive("charges a client that abandons a stream what it streamed, and frees the rest of its hold", () =>
    Effect.gen(function*() {
      const { client, upstream } = yield* setup({ models: ["m1"], outputTokens: 200, interTokenMs: 20 }, 1_000)

      // Holds 10 + 200; read a few chunks, then go away.
      const chunks = yield* Effect.promise(async () => {
        const controller = new AbortController()
        const stream = await client.chat.completions.create(
          { model: "m1", messages, max_tokens: 200, stream: true },
          { signal: controller.signal }
        )
        let seen = 0
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content) seen++
          if (seen === 5) break
        }
        controller.abort()
        return seen
      })
      expect(chunks).toBe(5)
      // The balancer settles when it sees the client gone; then a probe of 10 + 10 is admitted.
      const remaining = yield* Effect.promise(async () => {
        for (let i = 0; i < 50; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100))
          if (upstream.counters().aborted === 1) break
        }
        const probe = await client.chat.completions.create({ model: "m1", messages, max_tokens: 10 }).withResponse()
        return Number(probe.response.headers.get("x-ratelimit-remaining-tokens"))
      })
      const charged = 1_000 - 20 - remaining
      // More than nothing (the prompt and the tokens streamed), less than the 210 held.
      expect(charged).toBeGreaterThanOrEqual(10 + 5)
      expect(charged).toBeLessThan(210)
    }), 30_000)
})
