/**
 * The editor's store against an in-memory balancer that answers the admin calls the way the real one
 * does (ids, wires of `default` through `connected`, 400s naming the field) and can hold a call open,
 * so the optimistic state can be looked at before the answer arrives.
 */
import { createRoot } from "solid-js"
import { describe, expect, it } from "vitest"
import { ApiError } from "../src/api/ApiError.js"
import { createEventStream, type EventSourceLike } from "../src/api/Events.js"
import type { Block, EditorApi, EndpointLive, EndpointPublic, LiveState, RoutingMode } from "../src/editor/store/EditorApi.js"
import { createEditorStore } from "../src/editor/store/EditorStore.js"
import { followLive } from "../src/editor/store/live.js"

const stats = { requests: 0, failures: 0, prompt_tokens: 0, completion_tokens: 0, tokens_per_second: 0, requests_per_second: 0, avg_latency_seconds: 0 }

const fakeBalancer = () => {
  let nextId = 1
  const endpoints: Array<EndpointLive> = []
  const blocks: Array<{ -readonly [K in keyof Block]: Block[K] }> = [{ id: "default", name: "default", routing_mode: null, enabled: true, pos_x: 0, pos_y: 0, endpoint_ids: [] }]
  let mode: RoutingMode = "percentage"
  const calls: Array<string> = []
  let hold: Promise<void> | null = null
  let refuse: ((call: string) => ApiError | null) | null = null

  const state = (): LiveState => ({
    version: "3.1.0",
    routing_mode: mode,
    incoming_pos: { pos_x: blocks[0]!.pos_x, pos_y: blocks[0]!.pos_y },
    endpoints: endpoints.map((e) => ({ ...e })),
    incoming_blocks: blocks.map((b) => ({
      ...b,
      routing_mode: b.id === "default" ? mode : b.routing_mode,
      endpoint_ids: b.id === "default" ? endpoints.filter((e) => e.connected).map((e) => e.id) : [...b.endpoint_ids]
    })),
    global: { requests: 0, prompt_tokens: 0, completion_tokens: 0, tokens_per_second: 0, requests_per_second: 0, total_inflight: 0 }
  })
  const call = async <A>(name: string, run: () => A): Promise<A> => {
    calls.push(name)
    if (hold !== null) await hold
    const refusal = refuse?.(name) ?? null
    if (refusal !== null) throw refusal
    return run()
  }
  const publicOf = ({ inflight: _i, cooldown: _c, models: _m, stats: _s, ...e }: EndpointLive): EndpointPublic => e
  const endpoint = (id: string) => {
    const found = endpoints.find((e) => e.id === id)
    if (found === undefined) throw new ApiError({ status: 404, message: `no endpoint ${id}` })
    return found
  }

  const api: EditorApi = {
    state: () => call("state", state),
    createEndpoint: (input) =>
      call("createEndpoint", () => {
        const e: EndpointLive = {
          id: `e${nextId++}`, enabled: true, connected: false, token_quota_percent: 0, priority_order: 0, max_concurrent: 0,
          timeout: null, verify_tls: true, pos_x: 0, pos_y: 0, api_key_preview: null, inflight: 0,
          cooldown: { active: false, remaining_seconds: 0, consecutive_failures: 0 }, models: null, stats,
          ...input, api_key: undefined
        } as unknown as EndpointLive
        delete (e as { api_key?: unknown }).api_key
        endpoints.push(e)
        return publicOf(e)
      }),
    updateEndpoint: (id, changes) =>
      call(`updateEndpoint ${id} ${JSON.stringify(changes)}`, () => {
        const e = endpoint(id)
        Object.assign(e, changes)
        return publicOf(e)
      }),
    deleteEndpoint: (id) =>
      call(`deleteEndpoint ${id}`, () => {
        endpoints.splice(endpoints.indexOf(endpoint(id)), 1)
        for (const b of blocks) b.endpoint_ids = b.endpoint_ids.filter((x) => x !== id)
      }),
    createBlock: (input) =>
      call("createBlock", () => {
        const b: Block = { id: `b${nextId++}`, routing_mode: null, enabled: true, pos_x: 0, pos_y: 0, endpoint_ids: [], ...input }
        blocks.push(b)
        return b
      }),
    updateBlock: (id, changes) =>
      call(`updateBlock ${id} ${JSON.stringify(changes)}`, () => {
        const b = blocks.find((x) => x.id === id)!
        Object.assign(b, changes)
        return { ...b }
      }),
    deleteBlock: (id) => call(`deleteBlock ${id}`, () => void blocks.splice(blocks.findIndex((b) => b.id === id), 1)),
    setRoutingMode: (next) => call(`setRoutingMode ${next}`, () => void (mode = next))
  }

  return {
    api,
    calls,
    state,
    endpoints,
    /** Holds every call until the returned function is called. */
    holdCalls: () => {
      let release!: () => void
      hold = new Promise((resolve) => (release = resolve))
      return () => {
        hold = null
        release()
      }
    },
    refuseWith: (rule: ((call: string) => ApiError | null) | null) => void (refuse = rule)
  }
}

const setup = async () => {
  const server = fakeBalancer()
  const toasts: Array<string> = []
  const [state, actions] = createEditorStore({ api: server.api, notify: (m, kind) => toasts.push(`${kind}: ${m}`), liveIntervalMs: 0 })
  await actions.load()
  return { server, state, actions, toasts }
}

describe("editor store", () => {
  it("shows an edit at once and keeps it when the server agrees", async () => {
    const { server, state, actions } = await setup()
    const created = await actions.createEndpoint({ name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" })
    const release = server.holdCalls()
    const saving = actions.updateEndpoint(created!.id, { token_quota_percent: 60 })
    expect(state.endpoints[0]!.token_quota_percent).toBe(60)
    release()
    expect(await saving).toBe(true)
    expect(state.endpoints[0]!.token_quota_percent).toBe(60)
    expect(server.endpoints[0]!.token_quota_percent).toBe(60)
  })

  it("rolls an edit back with a toast and the server's message beside the field when refused", async () => {
    const { server, state, actions, toasts } = await setup()
    const created = await actions.createEndpoint({ name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" })
    server.refuseWith(() => new ApiError({ status: 400, message: "name must not be blank", field: "name" }))
    const release = server.holdCalls()
    const saving = actions.updateEndpoint(created!.id, { name: "   " })
    expect(state.endpoints[0]!.name).toBe("   ")
    release()
    expect(await saving).toBe(false)
    expect(state.endpoints[0]!.name).toBe("gpu-a")
    expect(state.fieldErrors).toEqual({ name: "name must not be blank" })
    expect(toasts).toEqual(["error: Saving the endpoint failed: name must not be blank"])
    expect(state.history.undo).toBe(1) // only the creation: a refused edit is not undoable
  })

  it("keeps an optimistic edit over a live snapshot taken before the server applied it", async () => {
    const { server, state, actions } = await setup()
    await actions.createEndpoint({ name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" })
    const stale = server.state()
    const release = server.holdCalls()
    const saving = actions.setRoutingMode("priority")
    actions.receive(stale)
    expect(state.routingMode).toBe("priority")
    expect(state.blocks[0]!.routing_mode).toBe("priority")
    release()
    await saving
    actions.receive(server.state())
    expect(state.routingMode).toBe("priority")
  })

  it("wires default through connected, undoes and redoes the wire with real calls", async () => {
    const { server, state, actions } = await setup()
    const a = (await actions.createEndpoint({ name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" }))!
    expect(await actions.connect("default", a.id)).toBe(true)
    expect(await actions.connect("default", a.id)).toBe(false) // a duplicate is refused
    expect(state.blocks[0]!.endpoint_ids).toEqual([a.id])
    expect(server.endpoints[0]!.connected).toBe(true)

    await actions.undo()
    expect(state.blocks[0]!.endpoint_ids).toEqual([])
    expect(server.endpoints[0]!.connected).toBe(false)
    await actions.redo()
    expect(server.endpoints[0]!.connected).toBe(true)
    expect(server.calls.filter((c) => c.startsWith("updateEndpoint"))).toEqual([
      `updateEndpoint ${a.id} {"connected":true}`,
      `updateEndpoint ${a.id} {"connected":false}`,
      `updateEndpoint ${a.id} {"connected":true}`
    ])
    expect(state.history).toEqual({ undo: 2, redo: 0 })
  })

  it("undoes a delete by creating the endpoint again and rewiring it, and later entries follow the new id", async () => {
    const { server, state, actions } = await setup()
    const a = (await actions.createEndpoint({ name: "gpu-a", base_url: "http://127.0.0.1:9001/v1", pos_x: 400 }))!
    const block = (await actions.createBlock({ name: "team-a" }))!
    await actions.connect(block.id, a.id)
    await actions.connect("default", a.id)
    await actions.deleteEndpoint(a.id)
    expect(state.endpoints).toEqual([])

    await actions.undo() // the delete
    const back = state.endpoints[0]!
    expect([back.name, back.pos_x, back.connected, back.id === a.id]).toEqual(["gpu-a", 400, true, false])
    expect(state.blocks.find((b) => b.id === block.id)!.endpoint_ids).toEqual([back.id])

    await actions.undo() // the wire to default: resolves to the new id
    expect(server.endpoints[0]!.connected).toBe(false)
    await actions.undo() // the wire to team-a
    await actions.undo() // the block
    await actions.undo() // the creation
    expect(server.endpoints).toEqual([])
    expect(state.history).toEqual({ undo: 0, redo: 5 })
  })

  it("sends one PATCH per moved node on drop, not per frame, and undoes the move", async () => {
    const { server, state, actions } = await setup()
    const a = (await actions.createEndpoint({ name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" }))!
    const key = `endpoint:${a.id}`
    for (let x = 1; x <= 30; x++) actions.moveLocal([{ key, position: { x: x * 10, y: 5 } }])
    expect(state.endpoints[0]!.pos_x).toBe(300)
    actions.receive(server.state()) // a snapshot mid-drag does not pull the node back
    expect(state.endpoints[0]!.pos_x).toBe(300)
    await actions.commitMoves([{ key, from: { x: 0, y: 0 }, to: { x: 300, y: 5 } }])
    expect(server.calls.filter((c) => c.startsWith("updateEndpoint"))).toEqual([`updateEndpoint ${a.id} {"pos_x":300,"pos_y":5}`])
    await actions.undo()
    expect([server.endpoints[0]!.pos_x, state.endpoints[0]!.pos_x]).toEqual([0, 0])
  })

  it("undoes the edit still waiting for its answer, not the one before it", async () => {
    const { server, state, actions } = await setup()
    const a = (await actions.createEndpoint({ name: "gpu-a", base_url: "http://127.0.0.1:9001/v1" }))!
    await actions.connect("default", a.id)
    await actions.setRoutingMode("priority")
    const release = server.holdCalls()
    const unwired = actions.disconnect("default", a.id)
    const undone = actions.undo() // pressed before the server answered the unwire
    release()
    expect(await unwired).toBe(true)
    expect(await undone).toBe(true)
    expect([server.endpoints[0]!.connected, state.routingMode]).toEqual([true, "priority"])
    expect(state.history).toEqual({ undo: 3, redo: 1 })
  })

  it("keeps a failed undo on the stack", async () => {
    const { server, state, actions, toasts } = await setup()
    await actions.setRoutingMode("priority")
    server.refuseWith(() => new ApiError({ status: 0, message: "cannot reach the balancer" }))
    expect(await actions.undo()).toBe(false)
    expect(state.routingMode).toBe("priority")
    expect(state.history).toEqual({ undo: 1, redo: 0 })
    expect(toasts.slice(-1)).toEqual(["error: Switching the routing mode failed: cannot reach the balancer"])
    server.refuseWith(null)
    expect(await actions.undo()).toBe(true)
    expect(state.routingMode).toBe("percentage")
  })

  it("follows the event stream through a reconnect: lost while down, state again once it is back", async () => {
    const server = fakeBalancer()
    const sources: Array<EventSourceLike> = []
    class FakeEventSource implements EventSourceLike {
      onopen: ((event: Event) => void) | null = null
      onmessage: ((event: MessageEvent<string>) => void) | null = null
      onerror: ((event: Event) => void) | null = null
      constructor() {
        sources.push(this)
      }
      close() {}
    }
    const timers: Array<() => void> = []
    const stream = createEventStream({
      ticket: () => Promise.resolve("t"),
      url: (t) => `/admin/api/events?ticket=${t}`,
      retryAfter: () => true,
      EventSource: FakeEventSource,
      timers: { setTimeout: (f) => timers.push(f), clearTimeout: () => {} },
      backoff: { baseMs: 1, maxMs: 1, random: () => 0 }
    })
    const [state, actions] = createEditorStore({ api: server.api, notify: () => {}, liveIntervalMs: 0 })
    const dispose = createRoot((dispose) => {
      followLive(stream, actions)
      return dispose
    })
    const flush = () => new Promise((resolve) => setTimeout(resolve, 0))
    const push = (s: LiveState) => sources.at(-1)!.onmessage!({ data: JSON.stringify(s) } as MessageEvent<string>)

    stream.start()
    await flush()
    expect(state.connection).toBe("connecting")
    push(server.state())
    expect([state.connection, state.loaded]).toEqual(["open", true])

    sources.at(-1)!.onerror!(new Event("error"))
    expect(state.connection).toBe("lost")
    await server.api.createEndpoint({ name: "added-meanwhile", base_url: "http://127.0.0.1:9/v1" })
    // the retry timer the backoff set (timers[0] is the first connection's silence watchdog)
    timers.at(-1)!()
    await flush()
    expect(sources).toHaveLength(2)
    push(server.state())
    expect(state.connection).toBe("open")
    expect(state.endpoints.map((e) => e.name)).toEqual(["added-meanwhile"])
    stream.stop()
    dispose()
  })

  it("applies live figures at most once per interval", async () => {
    const server = fakeBalancer()
    const [state, actions] = createEditorStore({ api: server.api, notify: () => {}, liveIntervalMs: 200 })
    const at = (tps: number): LiveState => ({ ...server.state(), global: { ...server.state().global, tokens_per_second: tps } })
    actions.receive(at(1))
    actions.receive(at(2))
    actions.receive(at(3))
    expect(state.global.tokens_per_second).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 350))
    expect(state.global.tokens_per_second).toBe(3)
  })
})
