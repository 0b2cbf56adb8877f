import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { checkProfileSettings } from "../src/store/Profiles.js"
import { presets } from "../src/store/Presets.js"
import { Producer } from "./support.js"

const KEY = "sk-test-0123456789abcdef"

describe("saved configurations", () => {
  it.layer(Producer.layer())((it) => {
    it.effect("model configurations: created with 201, listed by name case-insensitively, key only as a preview", () =>
      Effect.gen(function*() {
        const lp = yield* Producer
        const b = yield* lp.call("POST", "/api/model-configs", { name: "beta", base_url: "http://127.0.0.1:9/v1", api_key: KEY })
        expect(b.status).toBe(201)
        expect(b.body).toMatchObject({ name: "beta", base_url: "http://127.0.0.1:9/v1", route: "chat", model: null, api_key_preview: "sk-...cdef" })
        expect(JSON.stringify(b.body)).not.toContain(KEY)
        yield* lp.call("POST", "/api/model-configs", { name: "Alpha", base_url: "http://127.0.0.1:9", model: "m", route: "completions" })
        yield* lp.call("POST", "/api/model-configs", { name: "gamma", base_url: "http://127.0.0.1:9/v1" })
        const list = yield* lp.call("GET", "/api/model-configs")
        expect(list.body.map((c: { name: string }) => c.name)).toEqual(["Alpha", "beta", "gamma"])
        expect(list.body[0].base_url).toBe("http://127.0.0.1:9/v1")
        expect(JSON.stringify(list.body)).not.toContain(KEY)
      }))

    it.effect("model configurations: get, PATCH, DELETE 204, then 404", () =>
      Effect.gen(function*() {
        const lp = yield* Producer
        const created = yield* lp.call("POST", "/api/model-configs", { name: "patch-me", base_url: "http://127.0.0.1:9/v1" })
        const id = created.body.id
        expect((yield* lp.call("GET", `/api/model-configs/${id}`)).body.name).toBe("patch-me")
        const patched = yield* lp.call("PATCH", `/api/model-configs/${id}`, { model: "llama", api_key: KEY })
        expect(patched.status).toBe(200)
        expect(patched.body).toMatchObject({ name: "patch-me", model: "llama", api_key_preview: "sk-...cdef" })
        expect((yield* lp.call("DELETE", `/api/model-configs/${id}`)).status).toBe(204)
        expect((yield* lp.call("GET", `/api/model-configs/${id}`)).status).toBe(404)
        expect((yield* lp.call("PATCH", `/api/model-configs/${id}`, { model: "x" })).status).toBe(404)
        expect((yield* lp.call("DELETE", `/api/model-configs/${id}`)).status).toBe(404)
      }))

    it.effect("a duplicate name is a 409, whatever its case, on create and on rename", () =>
      Effect.gen(function*() {
        const lp = yield* Producer
        yield* lp.call("POST", "/api/model-configs", { name: "dup", base_url: "http://127.0.0.1:9/v1" })
        const again = yield* lp.call("POST", "/api/model-configs", { name: "DUP", base_url: "http://127.0.0.1:9/v1" })
        expect([again.status, again.body.message]).toEqual([409, expect.stringContaining("DUP")])
        const other = yield* lp.call("POST", "/api/profiles", { name: "p-dup" })
        yield* lp.call("POST", "/api/profiles", { name: "p-other" })
        const renamed = yield* lp.call("PATCH", `/api/profiles/${other.body.id}`, { name: "P-OTHER" })
        expect(renamed.status).toBe(409)
      }))

    it.effect.each([
      ["model-configs", { base_url: "http://127.0.0.1:9/v1" }, "name"],
      ["model-configs", { name: "x", base_url: "ftp://host" }, "base_url"],
      ["model-configs", { name: "x", base_url: "http://h/v1", route: "embeddings" }, "route"],
      ["model-configs", { name: "x", base_url: "http://h/v1", colour: "red" }, "colour"],
      ["profiles", { name: "x", settings: { rate: -1 } }, "settings.rate"],
      ["profiles", { name: "x", settings: { concurrency: 1.5 } }, "settings.concurrency"],
      ["profiles", { name: "x", settings: { base_url: "http://h/v1" } }, "settings.base_url"],
      ["profiles", { name: "x", settings: { api_key: "k" } }, "settings.api_key"],
      ["profiles", { name: "x", model_config_id: "nope" }, "model_config_id"]
    ] as const)("%s: an invalid body is a 400 naming %j", ([group, body, field]) =>
      Effect.gen(function*() {
        const lp = yield* Producer
        const res = yield* lp.call("POST", `/api/${group}`, body)
        expect(res.status).toBe(400)
        expect(JSON.stringify(res.body)).toContain(field)
      }))

    it.effect("profiles: settings kept as given, bound to a model configuration, unbound when it is deleted", () =>
      Effect.gen(function*() {
        const lp = yield* Producer
        const mc = yield* lp.call("POST", "/api/model-configs", { name: "bound-target", base_url: "http://127.0.0.1:9/v1" })
        const settings = { concurrency: 4, requests: 20, max_tokens: 64, stream: false, goodput: { ttft_ms: 200 } }
        const created = yield* lp.call("POST", "/api/profiles", { name: "bound", model_config_id: mc.body.id, settings })
        expect(created.status).toBe(201)
        expect(created.body).toMatchObject({ name: "bound", model_config_id: mc.body.id, settings })
        const patched = yield* lp.call("PATCH", `/api/profiles/${created.body.id}`, { settings: { rate: 2, duration: 5 } })
        expect(patched.body.settings).toEqual({ rate: 2, duration: 5 })
        yield* lp.call("DELETE", `/api/model-configs/${mc.body.id}`)
        const after = yield* lp.call("GET", `/api/profiles/${created.body.id}`)
        expect(after.body.model_config_id).toBeNull()
        expect((yield* lp.call("DELETE", `/api/profiles/${created.body.id}`)).status).toBe(204)
        expect((yield* lp.call("GET", `/api/profiles/${created.body.id}`)).status).toBe(404)
      }))

    it.effect("presets: listed sorted by name and got by id; they cannot be changed", () =>
      Effect.gen(function*() {
        const lp = yield* Producer
        const list = yield* lp.call("GET", "/api/presets")
        const names: Array<string> = list.body.map((p: { name: string }) => p.name)
        expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" })))
        expect(names.length).toBeGreaterThanOrEqual(5)
        expect((yield* lp.call("GET", "/api/presets/smoke-test")).body.settings).toEqual({ concurrency: 1, requests: 10, max_tokens: 64 })
        expect((yield* lp.call("GET", "/api/presets/nope")).status).toBe(404)
        expect((yield* lp.call("DELETE", "/api/presets/smoke-test")).status).toBe(404)
        expect((yield* lp.call("POST", "/api/presets", { name: "x" })).status).toBe(404)
      }))

    it.effect("/health answers 200 without a token, with the number of running runs", () =>
      Effect.gen(function*() {
        const lp = yield* Producer
        const health = yield* lp.call("GET", "/health")
        expect([health.status, health.body]).toEqual([200, { status: "ok", running_runs: 0 }])
      }))

    it.effect("the whole API is described at /api/openapi.json", () =>
      Effect.gen(function*() {
        const lp = yield* Producer
        const doc = yield* lp.call("GET", "/api/openapi.json")
        expect(doc.status).toBe(200)
        expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining([
          "/api/model-configs",
          "/api/model-configs/{id}",
          "/api/profiles",
          "/api/presets",
          "/api/runs",
          "/api/runs/{id}",
          "/api/runs/{id}/stop",
          "/api/runs/{id}/requests.csv",
          "/api/live/ticket"
        ]))
      }))
  })

  it("every preset is valid for the engine", () => {
    for (const preset of presets) expect(checkProfileSettings(preset.settings)._tag, preset.name).toBe("Right")
  })
})
