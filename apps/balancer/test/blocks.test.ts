import { describe, expect, it, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Endpoint, IncomingBlock } from "@llmlb/core"
import { ConfigProvider, Context, Effect, Exit, Layer, Schema, Scope } from "effect"
import { LbConfig } from "../src/Config.js"
import { BlockRepo } from "../src/store/BlockRepo.js"
import { DatabaseLive } from "../src/store/Database.js"
import { EndpointRepo } from "../src/store/EndpointRepo.js"
import { SettingsRepo } from "../src/store/SettingsRepo.js"
import { TokenRepo } from "../src/store/TokenRepo.js"
import { Topology } from "../src/store/Topology.js"
import { type Balancer, connectEndpoint, startBalancer, tempDbPath, TestBalancer } from "./support/Balancer.js"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const URL_A = "http://127.0.0.1:9001/v1"

const defaultBlock = {
  id: "default",
  name: "default",
  routing_mode: "percentage",
  enabled: true,
  pos_x: 0,
  pos_y: 0,
  endpoint_ids: []
}

let counter = 0
/** A name no other test uses (tests share one balancer). */
const fresh = (prefix: string) => `${prefix}-${++counter}`

const createBlock = (lb: Balancer, body: Record<string, unknown>) =>
  lb.admin("POST", "/incoming-blocks", body).pipe(
    Effect.tap((r) => r.status === 201 ? Effect.void : Effect.die(new Error(`create failed: ${JSON.stringify(r.body)}`))),
    Effect.map((r) => r.body)
  )

/** An endpoint that is not wired to `default`. */
const unwiredEndpoint = (lb: Balancer) => connectEndpoint(lb, URL_A, { connected: false })

/** The wires table itself, read through a second connection. */
const wiresInDb = (dbPath: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT block_id, endpoint_id FROM wires`).pipe(
    Effect.provide(SqliteClient.layer({ filename: dbPath, readonly: true })),
    Effect.orDie
  )

layer(TestBalancer.layer())("incoming blocks API", (it) => {
  describe("create, read, update, delete", () => {
    it.effect("creates with 201 and the documented defaults", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const response = yield* lb.admin("POST", "/incoming-blocks", { name: "defaults" })
        expect(response.status).toBe(201)
        const { id, ...rest } = response.body
        expect(id).toMatch(UUID)
        expect(rest).toEqual({ name: "defaults", routing_mode: null, enabled: true, pos_x: 0, pos_y: 0, endpoint_ids: [] })
      }))

    it.effect("stores every field given and reads it back by id", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const endpoint = yield* unwiredEndpoint(lb)
        const input = { name: "full", routing_mode: "priority", enabled: false, pos_x: -12.5, pos_y: 300, endpoint_ids: [endpoint.id] }
        const created = yield* createBlock(lb, input)
        expect(created).toEqual({ id: created.id, ...input })
        const read = yield* lb.admin("GET", `/incoming-blocks/${created.id}`)
        expect([read.status, read.body]).toEqual([200, created])
      }))

    it.effect("lists default first, then the blocks in creation order", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const names = [fresh("zz"), fresh("aa"), fresh("mm")]
        for (const name of names) yield* createBlock(lb, { name })
        const listed = (yield* lb.admin("GET", "/incoming-blocks")).body.map((b: any) => b.name)
        expect(listed[0]).toBe("default")
        expect(listed.filter((n: string) => names.includes(n))).toEqual(names)
      }))

    it.effect("patches only the given fields", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* createBlock(lb, { name: fresh("patch"), routing_mode: "priority", pos_y: 4 })
        const patched = yield* lb.admin("PATCH", `/incoming-blocks/${created.id}`, { enabled: false, pos_x: 9 })
        expect([patched.status, patched.body]).toEqual([200, { ...created, enabled: false, pos_x: 9 }])
        const back = yield* lb.admin("PATCH", `/incoming-blocks/${created.id}`, { routing_mode: null })
        expect(back.body).toEqual({ ...patched.body, routing_mode: null })
        const empty = yield* lb.admin("PATCH", `/incoming-blocks/${created.id}`, {})
        expect(empty.body).toEqual(back.body)
      }))

    it.effect("deletes with 204, after which the id is unknown (404)", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* createBlock(lb, { name: fresh("short-lived") })
        const deleted = yield* lb.admin("DELETE", `/incoming-blocks/${created.id}`)
        expect([deleted.status, deleted.body]).toEqual([204, undefined])
        expect((yield* lb.admin("GET", "/incoming-blocks")).body.map((b: any) => b.id)).not.toContain(created.id)
      }))

    it.effect.each([
      ["GET", undefined],
      ["PATCH", { enabled: false }],
      ["DELETE", undefined]
    ] as const)("answers 404 naming the id to %s of an unknown block", ([method, body]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const id = crypto.randomUUID()
        const response = yield* lb.admin(method, `/incoming-blocks/${id}`, body)
        expect(response.status).toBe(404)
        expect(response.body.message).toContain(id)
      }))

    it.effect("requires the admin token", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        expect((yield* lb.fetch("GET", "/admin/api/incoming-blocks")).status).toBe(401)
        expect((yield* lb.fetch("POST", "/admin/api/incoming-blocks", { body: { name: "sneaky" } })).status).toBe(401)
      }))

    it.effect("is in the OpenAPI document", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const doc = yield* lb.fetch("GET", "/admin/api/openapi.json")
        expect(Object.keys(doc.body.paths)).toEqual(
          expect.arrayContaining(["/admin/api/incoming-blocks", "/admin/api/incoming-blocks/{bid}"])
        )
      }))
  })

  describe("names", () => {
    it.effect.each(["a", "0", "team_a-1", "x".repeat(64), "v2", "chats"])("accepts the name %j", (name) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* lb.admin("POST", "/incoming-blocks", { name })
        expect([created.status, created.body.name]).toEqual([201, name])
        yield* lb.admin("DELETE", `/incoming-blocks/${created.body.id}`)
      }))

    it.effect.each([
      ["empty", ""],
      ["upper case", "Team"],
      ["a leading dash", "-a"],
      ["a leading underscore", "_a"],
      ["65 characters", "x".repeat(65)],
      ["a space", "a b"],
      ["a slash", "a/b"],
      ["a dot", "a.b"],
      ["a non-ASCII letter", "ä"],
      ["not a string", 42],
      ["reserved", "v1"],
      ["reserved", "models"],
      ["reserved", "chat"],
      ["reserved", "completions"],
      ["reserved", "embeddings"]
    ] as const)("rejects a name that is %s (%j) with 400 naming name, on create and rename", ([, name]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* lb.admin("POST", "/incoming-blocks", { name })
        expect([created.status, created.body.message]).toEqual([400, expect.stringContaining("name")])
        const target = yield* createBlock(lb, { name: fresh("rename-target") })
        const renamed = yield* lb.admin("PATCH", `/incoming-blocks/${target.id}`, { name })
        expect([renamed.status, renamed.body.message]).toEqual([400, expect.stringContaining("name")])
      }))

    it.effect("rejects a missing name with 400", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const response = yield* lb.admin("POST", "/incoming-blocks", { enabled: true })
        expect([response.status, response.body.message]).toEqual([400, expect.stringContaining("name")])
      }))

    it.effect("answers 409 for a duplicate name on create and rename; keeping one's own name is fine", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const taken = fresh("taken")
        yield* createBlock(lb, { name: taken })
        const duplicate = yield* lb.admin("POST", "/incoming-blocks", { name: taken })
        expect([duplicate.status, duplicate.body.message]).toEqual([409, expect.stringContaining(taken)])
        const other = yield* createBlock(lb, { name: fresh("other") })
        expect((yield* lb.admin("PATCH", `/incoming-blocks/${other.id}`, { name: taken })).status).toBe(409)
        const keep = yield* lb.admin("PATCH", `/incoming-blocks/${other.id}`, { name: other.name, enabled: false })
        expect([keep.status, keep.body.enabled]).toEqual([200, false])
      }))

    it.effect("answers 409 for a block named default", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        expect((yield* lb.admin("POST", "/incoming-blocks", { name: "default" })).status).toBe(409)
      }))
  })

  describe("other fields", () => {
    it.effect.each([
      ["routing_mode", { routing_mode: "random" }],
      ["enabled", { enabled: "yes" }],
      ["pos_x", { pos_x: "10" }],
      ["pos_y", { pos_y: null }],
      ["endpoint_ids", { endpoint_ids: "all" }],
      ["endpoint_ids", { endpoint_ids: [1] }],
      ["id", { id: "default" }],
      ["unexpected_field", { unexpected_field: true }]
    ] as const)("rejects an invalid or unknown %s with 400 naming it: %j", ([field, change]) =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const created = yield* lb.admin("POST", "/incoming-blocks", { name: fresh("invalid"), ...change })
        expect([created.status, created.body.message]).toEqual([400, expect.stringContaining(field)])
        const target = yield* createBlock(lb, { name: fresh("invalid-patch") })
        const patched = yield* lb.admin("PATCH", `/incoming-blocks/${target.id}`, change)
        expect([patched.status, patched.body.message]).toEqual([400, expect.stringContaining(field)])
      }))
  })

  describe("wires", () => {
    it.effect("keeps endpoint_ids in endpoint creation order, without duplicates", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const a = yield* unwiredEndpoint(lb)
        const b = yield* unwiredEndpoint(lb)
        const created = yield* createBlock(lb, { name: fresh("ordered"), endpoint_ids: [b.id, a.id, b.id] })
        expect(created.endpoint_ids).toEqual([a.id, b.id])
      }))

    it.effect("rejects unknown endpoint ids with 400 naming endpoint_ids, and changes nothing", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const known = yield* unwiredEndpoint(lb)
        const unknown = crypto.randomUUID()
        const name = fresh("unknown-wires")
        const created = yield* lb.admin("POST", "/incoming-blocks", { name, endpoint_ids: [known.id, unknown] })
        expect([created.status, created.body.message]).toEqual([400, expect.stringContaining("endpoint_ids")])
        expect(created.body.message).toContain(unknown)
        expect((yield* lb.admin("GET", "/incoming-blocks")).body.map((b: any) => b.name)).not.toContain(name)

        const block = yield* createBlock(lb, { name, endpoint_ids: [known.id] })
        const patched = yield* lb.admin("PATCH", `/incoming-blocks/${block.id}`, { endpoint_ids: ["not-an-id"], enabled: false })
        expect([patched.status, patched.body.message]).toEqual([400, expect.stringContaining("endpoint_ids")])
        expect((yield* lb.admin("GET", `/incoming-blocks/${block.id}`)).body).toEqual(block)
      }))

    it.effect("replaces the wires on PATCH", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const a = yield* unwiredEndpoint(lb)
        const b = yield* unwiredEndpoint(lb)
        const block = yield* createBlock(lb, { name: fresh("rewire"), endpoint_ids: [a.id] })
        expect((yield* lb.admin("PATCH", `/incoming-blocks/${block.id}`, { endpoint_ids: [b.id] })).body.endpoint_ids).toEqual([b.id])
        expect((yield* lb.admin("PATCH", `/incoming-blocks/${block.id}`, { endpoint_ids: [] })).body.endpoint_ids).toEqual([])
      }))

    it.effect("deleting an endpoint removes its wires from every block", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const a = yield* connectEndpoint(lb, URL_A)
        const b = yield* unwiredEndpoint(lb)
        const one = yield* createBlock(lb, { name: fresh("one"), endpoint_ids: [a.id, b.id] })
        const two = yield* createBlock(lb, { name: fresh("two"), endpoint_ids: [a.id] })
        expect((yield* lb.admin("DELETE", `/endpoints/${a.id}`)).status).toBe(204)
        expect((yield* lb.admin("GET", `/incoming-blocks/${one.id}`)).body.endpoint_ids).toEqual([b.id])
        expect((yield* lb.admin("GET", `/incoming-blocks/${two.id}`)).body.endpoint_ids).toEqual([])
        expect((yield* lb.admin("GET", "/incoming-blocks/default")).body.endpoint_ids).not.toContain(a.id)
        expect(yield* wiresInDb(lb.dbPath)).not.toContainEqual(expect.objectContaining({ endpoint_id: a.id }))
      }))

    it.effect("deleting a block removes its wires", () =>
      Effect.gen(function*() {
        const lb = yield* TestBalancer
        const a = yield* unwiredEndpoint(lb)
        const block = yield* createBlock(lb, { name: fresh("wired"), endpoint_ids: [a.id] })
        expect(yield* wiresInDb(lb.dbPath)).toContainEqual({ block_id: block.id, endpoint_id: a.id })
        yield* lb.admin("DELETE", `/incoming-blocks/${block.id}`)
        expect(yield* wiresInDb(lb.dbPath)).not.toContainEqual(expect.objectContaining({ block_id: block.id }))
        expect((yield* lb.admin("GET", `/endpoints/${a.id}`)).status).toBe(200)
      }))
  })

  it.effect("the admin state lists every block, default included, in the same form", () =>
    Effect.gen(function*() {
      const lb = yield* TestBalancer
      yield* createBlock(lb, { name: fresh("in-state") })
      const state = (yield* lb.admin("GET", "/state")).body
      expect(state.incoming_blocks).toEqual((yield* lb.admin("GET", "/incoming-blocks")).body)
      expect(state.incoming_blocks[0].id).toBe("default")
    }))
})

describe("the default block", () => {
  it.scopedLive("is the only block of a fresh database", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      expect((yield* lb.admin("GET", "/incoming-blocks")).body).toEqual([defaultBlock])
      expect((yield* lb.admin("GET", "/incoming-blocks/default")).body).toEqual(defaultBlock)
    }))

  it.scopedLive("cannot be deleted (409)", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const response = yield* lb.admin("DELETE", "/incoming-blocks/default")
      expect([response.status, response.body.message]).toEqual([409, expect.stringContaining("default")])
      expect((yield* lb.admin("GET", "/incoming-blocks/default")).status).toBe(200)
    }))

  it.scopedLive("cannot be renamed (400 naming name), though its own name may be sent back", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const renamed = yield* lb.admin("PATCH", "/incoming-blocks/default", { name: "main" })
      expect([renamed.status, renamed.body.message]).toEqual([400, expect.stringContaining("name")])
      const same = yield* lb.admin("PATCH", "/incoming-blocks/default", { name: "default", pos_x: 1 })
      expect([same.status, same.body.name]).toEqual([200, "default"])
    }))

  it.scopedLive("has the incoming position as its position, both ways", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      yield* lb.admin("PATCH", "/incoming-pos", { pos_x: 40.5, pos_y: -12 })
      expect((yield* lb.admin("GET", "/incoming-blocks/default")).body).toMatchObject({ pos_x: 40.5, pos_y: -12 })
      const patched = yield* lb.admin("PATCH", "/incoming-blocks/default", { pos_x: 7 })
      expect(patched.body).toMatchObject({ pos_x: 7, pos_y: -12 })
      expect((yield* lb.admin("GET", "/state")).body.incoming_pos).toEqual({ pos_x: 7, pos_y: -12 })
    }))

  it.scopedLive("has the global routing mode as its routing mode, both ways; null is refused", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      expect((yield* lb.admin("GET", "/incoming-blocks/default")).body.routing_mode).toBe("priority")
      const patched = yield* lb.admin("PATCH", "/incoming-blocks/default", { routing_mode: "percentage" })
      expect(patched.body.routing_mode).toBe("percentage")
      expect((yield* lb.admin("GET", "/state")).body.routing_mode).toBe("percentage")
      const nulled = yield* lb.admin("PATCH", "/incoming-blocks/default", { routing_mode: null })
      expect([nulled.status, nulled.body.message]).toEqual([400, expect.stringContaining("routing_mode")])
      expect((yield* lb.admin("GET", "/state")).body.routing_mode).toBe("percentage")
    }))

  it.scopedLive("leaves other blocks' routing mode null (= global) when the global mode changes", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const block = yield* createBlock(lb, { name: "follows" })
      yield* lb.admin("PATCH", "/routing", { mode: "priority" })
      expect((yield* lb.admin("GET", `/incoming-blocks/${block.id}`)).body.routing_mode).toBeNull()
    }))

  it.scopedLive("has the connected endpoints as its endpoint_ids, both ways", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      const a = yield* connectEndpoint(lb, URL_A)
      const b = yield* unwiredEndpoint(lb)
      const c = yield* connectEndpoint(lb, URL_A)
      expect((yield* lb.admin("GET", "/incoming-blocks/default")).body.endpoint_ids).toEqual([a.id, c.id])
      yield* lb.admin("PATCH", `/endpoints/${c.id}`, { connected: false })
      expect((yield* lb.admin("GET", "/incoming-blocks/default")).body.endpoint_ids).toEqual([a.id])

      const patched = yield* lb.admin("PATCH", "/incoming-blocks/default", { endpoint_ids: [b.id, c.id] })
      expect(patched.body.endpoint_ids).toEqual([b.id, c.id])
      const connected = (yield* lb.admin("GET", "/endpoints")).body.map((e: any) => [e.id, e.connected])
      expect(connected).toEqual([[a.id, false], [b.id, true], [c.id, true]])
      const unknown = yield* lb.admin("PATCH", "/incoming-blocks/default", { endpoint_ids: [crypto.randomUUID()] })
      expect([unknown.status, unknown.body.message]).toEqual([400, expect.stringContaining("endpoint_ids")])
    }))

  it.scopedLive("can be disabled and enabled", () =>
    Effect.gen(function*() {
      const lb = yield* startBalancer()
      expect((yield* lb.admin("PATCH", "/incoming-blocks/default", { enabled: false })).body.enabled).toBe(false)
      expect((yield* lb.admin("GET", "/incoming-blocks/default")).body.enabled).toBe(false)
      expect((yield* lb.admin("PATCH", "/incoming-blocks/default", { enabled: true })).body.enabled).toBe(true)
    }))
})

describe("persistence", () => {
  it.scopedLive("keeps blocks, wires and the default block across a restart on the same file", () =>
    Effect.gen(function*() {
      const dbPath = tempDbPath()
      const first = yield* Scope.make()
      const before = yield* startBalancer({}, dbPath).pipe(Scope.extend(first))
      const a = yield* unwiredEndpoint(before)
      const b = yield* connectEndpoint(before, URL_A)
      const gone = yield* unwiredEndpoint(before)
      const kept = yield* createBlock(before, { name: "kept", routing_mode: "priority", pos_x: 3, endpoint_ids: [a.id, gone.id] })
      yield* createBlock(before, { name: "second", enabled: false, endpoint_ids: [b.id] })
      const dropped = yield* createBlock(before, { name: "dropped", endpoint_ids: [a.id] })
      yield* before.admin("PATCH", `/incoming-blocks/${kept.id}`, { pos_y: 4 })
      yield* before.admin("DELETE", `/incoming-blocks/${dropped.id}`)
      yield* before.admin("DELETE", `/endpoints/${gone.id}`)
      yield* before.admin("PATCH", "/incoming-blocks/default", {
        enabled: false,
        routing_mode: "priority",
        pos_x: 5,
        pos_y: 6,
        endpoint_ids: [a.id, b.id]
      })
      const blocksBefore = (yield* before.admin("GET", "/incoming-blocks")).body
      const stateBefore = (yield* before.admin("GET", "/state")).body
      yield* Scope.close(first, Exit.void)

      const after = yield* startBalancer({}, dbPath)
      const blocksAfter = (yield* after.admin("GET", "/incoming-blocks")).body
      expect(blocksAfter).toEqual(blocksBefore)
      expect(blocksAfter).toEqual([
        { id: "default", name: "default", routing_mode: "priority", enabled: false, pos_x: 5, pos_y: 6, endpoint_ids: [a.id, b.id] },
        { ...kept, pos_y: 4, endpoint_ids: [a.id] },
        expect.objectContaining({ name: "second", enabled: false, endpoint_ids: [b.id] })
      ])
      expect((yield* after.admin("GET", "/state")).body).toEqual(stateBefore)
    }))
})

/** Topology alone on a fresh database, for the synchronous reads the routing engine uses. */
const topologyOn = (dbPath: string) =>
  Layer.build(
    Topology.Default.pipe(
      Layer.provide([EndpointRepo.Default, SettingsRepo.Default, BlockRepo.Default, TokenRepo.Default]),
      Layer.provide(DatabaseLive),
      Layer.provide(LbConfig.Default),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["LB_DB_PATH", dbPath]]))))
    )
  ).pipe(Effect.map((context) => Context.get(context, Topology)))

/** Inputs as the admin API would decode them, defaults filled in. */
const endpoint = (name: string, connected = false) =>
  Schema.decodeUnknownSync(Endpoint.EndpointCreate)({ name, base_url: URL_A, connected })
const block = (name: string, endpoint_ids: ReadonlyArray<string> = []) =>
  Schema.decodeUnknownSync(IncomingBlock.BlockCreate)({ name, endpoint_ids })

describe("Topology reads for the data plane", () => {
  it.scoped("finds blocks by name and their wired endpoint records in creation order", () =>
    Effect.gen(function*() {
      const topology = yield* topologyOn(tempDbPath())
      const a = yield* topology.create(endpoint("a", true))
      const b = yield* topology.create(endpoint("b"))
      const team = yield* topology.createBlock(block("team", [b.id, a.id]))
      expect(topology.blockByName("team")).toBe(team)
      expect(topology.blockByName("default")).toBe(topology.defaultBlock())
      expect(topology.blockByName("nobody")).toBeUndefined()
      expect(topology.wiredEndpoints(team.id)).toEqual([a, b])
      expect(topology.wiredEndpoints("default")).toEqual([a])
      expect(topology.wiredEndpoints("unknown")).toEqual([])

      const renamed = yield* topology.update(b.id, { name: "b2" })
      expect(topology.wiredEndpoints(team.id)).toEqual([a, renamed])
    }))

  it.scoped("keeps the same arrays until the next mutation", () =>
    Effect.gen(function*() {
      const topology = yield* topologyOn(tempDbPath())
      const a = yield* topology.create(endpoint("a", true))
      const blocks = topology.blocks()
      const wired = topology.wiredEndpoints("default")
      expect(topology.blocks()).toBe(blocks)
      expect(topology.wiredEndpoints("default")).toBe(wired)
      yield* topology.update(a.id, { priority_order: 1 })
      expect(topology.blocks()).not.toBe(blocks)
      expect(topology.wiredEndpoints("default")).not.toBe(wired)
    }))

  it.scoped("resolves a block's effective routing mode", () =>
    Effect.gen(function*() {
      const topology = yield* topologyOn(tempDbPath())
      const follows = yield* topology.createBlock(block("follows"))
      const own = yield* topology.createBlock(Schema.decodeUnknownSync(IncomingBlock.BlockCreate)({ name: "own", routing_mode: "priority" }))
      expect([topology.effectiveMode(follows), topology.effectiveMode(own)]).toEqual(["percentage", "priority"])
      yield* topology.setRoutingMode("priority")
      expect(topology.effectiveMode(follows)).toBe("priority")
      expect(topology.effectiveMode(topology.defaultBlock())).toBe("priority")
    }))

  it.scoped("tells listeners after every successful mutation, until they unsubscribe", () =>
    Effect.gen(function*() {
      const topology = yield* topologyOn(tempDbPath())
      let calls = 0
      const unsubscribe = topology.onChange(() => calls++)
      const a = yield* topology.create(endpoint("a"))
      const team = yield* topology.createBlock(block("team", [a.id]))
      yield* topology.updateBlock(team.id, { enabled: false })
      yield* topology.setIncomingPos({ pos_x: 1, pos_y: 2 })
      yield* topology.setRoutingMode("priority")
      yield* topology.remove(a.id)
      yield* topology.removeBlock(team.id)
      expect(calls).toBe(7)
      yield* Effect.flip(topology.createBlock(block("default")))
      expect(calls).toBe(7)
      unsubscribe()
      yield* topology.createBlock(block("later"))
      expect(calls).toBe(7)
    }))
})
