/**
 * The shared contract from the client's side: `HttpApiClient.make(AdminApi)` from @llmlb/api, as the
 * editor uses it, against the real balancer: typed successes, typed wire errors, the token header.
 */
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { AdminApi, NotFound, Unauthorized } from "@llmlb/api"
import { Endpoint } from "@llmlb/core"
import { Effect, Schema } from "effect"
import pkg from "../package.json" with { type: "json" }
import { ADMIN_TOKEN, TestBalancer } from "./support/Balancer.js"

const clientFor = (baseUrl: string, token: string) =>
  HttpApiClient.make(AdminApi, {
    baseUrl,
    transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-admin-token", token))
  }).pipe(Effect.provide(FetchHttpClient.layer))

layer(TestBalancer.layer())("the admin API client", (it) => {
  it.effect("reads the state and creates, updates and deletes an endpoint", () =>
    Effect.gen(function*() {
      const lb = yield* TestBalancer
      const client = yield* clientFor(lb.url, ADMIN_TOKEN)
      // A payload is the schema's Type: the defaults filled in, as decoding a partial form does.
      const payload = Schema.decodeUnknownSync(Endpoint.EndpointCreate)({ name: "from-client", base_url: "http://127.0.0.1:9/v1" })
      const created = yield* client.endpoints.create({ payload })
      expect(created).toMatchObject({ name: "from-client", base_url: "http://127.0.0.1:9/v1", enabled: true, api_key_preview: null })
      const updated = yield* client.endpoints.update({ path: { eid: created.id }, payload: { priority_order: 3 } })
      expect(updated.priority_order).toBe(3)
      const state = yield* client.state.get()
      expect(state.version).toBe(pkg.version)
      expect(state.endpoints.map((e) => e.name)).toContain("from-client")
      yield* client.endpoints.delete({ path: { eid: created.id } })
      expect((yield* client.endpoints.list()).map((e) => e.id)).not.toContain(created.id)
    }), { timeout: 30_000 })

  it.effect("fails with the API's typed errors", () =>
    Effect.gen(function*() {
      const lb = yield* TestBalancer
      const client = yield* clientFor(lb.url, ADMIN_TOKEN)
      const missing = yield* Effect.flip(client.endpoints.get({ path: { eid: "no-such-id" } }))
      expect(missing).toBeInstanceOf(NotFound)
      const stranger = yield* clientFor(lb.url, "not-the-admin-token")
      expect(yield* Effect.flip(stranger.state.get())).toBeInstanceOf(Unauthorized)
    }), { timeout: 30_000 })

  it.effect("trades the token for an event-stream ticket", () =>
    Effect.gen(function*() {
      const lb = yield* TestBalancer
      const client = yield* clientFor(lb.url, ADMIN_TOKEN)
      const { ticket, expires_in_seconds } = yield* client.events.ticket()
      expect(expires_in_seconds).toBe(30)
      const stream = yield* Effect.promise(async () => {
        const controller = new AbortController()
        const response = await fetch(`${lb.url}/admin/api/events?ticket=${ticket}`, { signal: controller.signal })
        controller.abort()
        return response
      })
      expect(stream.status).toBe(200)
    }), { timeout: 30_000 })
})
