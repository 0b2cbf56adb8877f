/**
 * A real balancer for tests: the same layer main.ts launches, on 127.0.0.1 port 0, with a fresh
 * SQLite file (or a given one, to test restarts), configured through a map instead of the environment.
 */
import { ConfigProvider, Context, Effect, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BalancerLive } from "../../src/App.js"
import { BalancerServer } from "../../src/Server.js"

export const ADMIN_TOKEN = "test-admin-token-0123456789"

export const tempDbPath = () => join(mkdtempSync(join(tmpdir(), "lb-test-")), "lb.db")

export interface JsonResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

export interface Balancer {
  readonly url: string
  readonly dbPath: string
  /** Any request; the body is parsed as JSON when there is one. */
  readonly fetch: (
    method: string,
    path: string,
    options?: { readonly body?: unknown; readonly headers?: Record<string, string> }
  ) => Effect.Effect<JsonResponse>
  /** A request to /admin/api with the admin token. */
  readonly admin: (method: string, path: string, body?: unknown) => Effect.Effect<JsonResponse>
}

/**
 * Where balancers started without an LB_DATABASE_URL of their own keep their store: SQLite (undefined)
 * or a fresh PostgreSQL database from this factory (test/*-postgres.test.ts run whole test files so).
 */
let databaseFactory: (() => string) | undefined
/** One database per dbPath, so that a restart "on the same file" finds its data again. */
const databases = new Map<string, string>()
export const useDatabaseFactory = (factory: (() => string) | undefined) => {
  databaseFactory = factory
  databases.clear()
}
const databaseFor = (dbPath: string, factory: () => string) => {
  const url = databases.get(dbPath) ?? factory()
  databases.set(dbPath, url)
  return url
}

/** Settings every balancer started here gets unless a test gives its own (a whole test file run on Redis). */
let sharedEnv: Record<string, string> = {}
export const useSharedEnv = (env: Record<string, string>) => {
  sharedEnv = env
}

export const startBalancer = (env: Record<string, string> = {}, dbPath = tempDbPath()) =>
  Effect.gen(function*() {
    const provider = ConfigProvider.fromMap(
      new Map(Object.entries({
        LB_PORT: "0",
        LB_HOST: "127.0.0.1",
        LB_DB_PATH: dbPath,
        ...(databaseFactory !== undefined && env.LB_DATABASE_URL === undefined ? { LB_DATABASE_URL: databaseFor(dbPath, databaseFactory) } : {}),
        LB_ADMIN_TOKEN: ADMIN_TOKEN,
        LB_LOG_LEVEL: "ERROR",
        ...sharedEnv,
        ...env
      }))
    )
    const context = yield* Layer.build(BalancerLive.pipe(Layer.provide(Layer.setConfigProvider(provider))))
    const { url } = Context.get(context, BalancerServer)

    const fetchJson: Balancer["fetch"] = (method, path, options = {}) =>
      Effect.promise(async () => {
        const hasBody = options.body !== undefined
        const response = await fetch(url + path, {
          method,
          headers: { ...(hasBody ? { "content-type": "application/json" } : {}), ...options.headers },
          ...(hasBody ? { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) } : {})
        })
        const text = await response.text()
        let body: unknown = text
        try {
          body = text === "" ? undefined : JSON.parse(text)
        } catch {
          // not JSON: keep the text
        }
        return { status: response.status, headers: response.headers, body }
      })

    const balancer: Balancer = {
      url,
      dbPath,
      fetch: fetchJson,
      admin: (method, path, body) =>
        fetchJson(method, `/admin/api${path}`, { body, headers: { "x-admin-token": ADMIN_TOKEN } })
    }
    return balancer
  })

export class TestBalancer extends Context.Tag("TestBalancer")<TestBalancer, Balancer>() {
  static layer = (env: Record<string, string> = {}) => Layer.scoped(TestBalancer, startBalancer(env))
}

/** Registers a simulator (or any OpenAI base URL) as an endpoint wired to the incoming node. */
export const connectEndpoint = (
  lb: Balancer,
  baseUrl: string,
  fields: Record<string, unknown> = {}
) =>
  lb.admin("POST", "/endpoints", { name: `ep-${Math.random().toString(36).slice(2, 8)}`, base_url: baseUrl, connected: true, ...fields })
    .pipe(Effect.tap((response) => response.status === 201 ? Effect.void : Effect.die(new Error(`create failed: ${JSON.stringify(response.body)}`))), Effect.map((response) => response.body as { id: string; name: string }))
