/**
 * A real producer for tests: the same layer main.ts launches, on 127.0.0.1 port 0, with a fresh SQLite
 * file (or a given one, to test restarts), configured through a map instead of the environment.
 */
import { ConfigProvider, Context, Effect, Layer, type Scope } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ProducerLive } from "../src/App.js"
import { ProducerServer } from "../src/Server.js"

export const tempDbPath = () => join(mkdtempSync(join(tmpdir(), "lp-test-")), "lp.db")

export interface JsonResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

export interface TestProducer {
  readonly url: string
  readonly dbPath: string
  /** Any request; the body is parsed as JSON when it is JSON. */
  readonly call: (
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>
  ) => Effect.Effect<JsonResponse>
}

export const startProducer = (
  env: Record<string, string> = {},
  dbPath = tempDbPath()
): Effect.Effect<TestProducer, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const provider = ConfigProvider.fromMap(
      new Map(Object.entries({ LP_PORT: "0", LP_HOST: "127.0.0.1", LP_DB_PATH: dbPath, LP_LOG_LEVEL: "ERROR", ...env }))
    )
    const context = yield* Layer.build(ProducerLive.pipe(Layer.provide(Layer.setConfigProvider(provider))))
    const { url } = Context.get(context, ProducerServer)
    const call: TestProducer["call"] = (method, path, body, headers = {}) =>
      Effect.promise(async () => {
        const hasBody = body !== undefined
        const response = await fetch(url + path, {
          method,
          headers: { ...(hasBody ? { "content-type": "application/json" } : {}), ...headers },
          ...(hasBody ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {})
        })
        const text = await response.text()
        let parsed: unknown = text
        try {
          parsed = text === "" ? undefined : JSON.parse(text)
        } catch {
          // not JSON: keep the text
        }
        return { status: response.status, headers: response.headers, body: parsed }
      })
    return { url, dbPath, call }
  })

export class Producer extends Context.Tag("TestProducer")<Producer, TestProducer>() {
  static layer = (env: Record<string, string> = {}) => Layer.scoped(Producer, startProducer(env))
}
