/**
 * The editor page's one store: the balancer's live state as the canvas shows it, the selection, the
 * inspector and the undo history, with the actions that change them. Edits are optimistic: the canvas
 * changes at once, the API call follows, and a refusal rolls the change back with a toast and, for a
 * 400, the server's message beside the field it names. Every edit can be undone, by another API call.
 */
import { batch } from "solid-js"
import { createStore, produce, reconcile } from "solid-js/store"
import { ApiError } from "../../api/ApiError.js"
import {
  type Block,
  type BlockChanges,
  type BlockInput,
  type ConnectionStatus,
  type EditorApi,
  type EndpointChanges,
  type EndpointInput,
  type EndpointLive,
  type EndpointPublic,
  type GlobalLive,
  type LiveState,
  type RoutingMode
} from "./EditorApi.js"
import { createHistory } from "./history.js"
import { DELETED, Pending } from "./pending.js"
import { blockKey, DEFAULT_BLOCK, endpointKey, parseNodeKey, wireKey } from "./keys.js"

export type Notify = (message: string, kind: "error" | "success" | "info") => void

export interface Position {
  readonly x: number
  readonly y: number
}

type Writable<T> = { -readonly [K in keyof T]: T[K] }
export type EndpointNode = Writable<EndpointLive>
export type BlockNode = Writable<Block>

/** Solid's setters want mutable types; the store itself is read-only outside the actions. */
export interface EditorState {
  loaded: boolean
  version: string
  routingMode: RoutingMode
  endpoints: Array<EndpointNode>
  blocks: Array<BlockNode>
  global: GlobalLive
  connection: ConnectionStatus
  /** Node keys (`endpoint:<id>`, `block:<id>`) and the selected wire's key. */
  selection: { nodes: Array<string>; wire: string | null }
  /** The node shown in the inspector, or "new-endpoint" / "new-block" for the create forms. */
  inspector: string | null
  /** The server's 400 message per field of the inspector's form. */
  fieldErrors: Record<string, string>
  snapToGrid: boolean
  history: { undo: number; redo: number }
  /** A wire started from the keyboard: the block's id, until Enter on an input port or Escape. */
  wiringFrom: string | null
}

const emptyGlobal: GlobalLive = {
  requests: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  tokens_per_second: 0,
  requests_per_second: 0,
  total_inflight: 0
}

const liveDefaults = {
  inflight: 0,
  cooldown: { active: false, remaining_seconds: 0, consecutive_failures: 0 },
  models: null,
  engine: null,
  stats: {
    requests: 0,
    failures: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    tokens_per_second: 0,
    requests_per_second: 0,
    avg_latency_seconds: 0
  }
} as const

/** The fields of an endpoint that a create call can restore (the API key cannot be read back). */
const endpointInputOf = (e: EndpointPublic): EndpointInput => ({
  name: e.name,
  base_url: e.base_url,
  enabled: e.enabled,
  connected: e.connected,
  token_quota_percent: e.token_quota_percent,
  priority_order: e.priority_order,
  max_concurrent: e.max_concurrent,
  timeout: e.timeout,
  verify_tls: e.verify_tls,
  metrics_url: e.metrics_url,
  pos_x: e.pos_x,
  pos_y: e.pos_y
})

const failureOf = (error: unknown): ApiError =>
  error instanceof ApiError ? error : new ApiError({ status: 0, message: error instanceof Error ? error.message : String(error) })
const refused = () => new ApiError({ status: 0, message: "refused by the server" })

export interface EditorOptions {
  readonly api: EditorApi
  readonly notify: Notify
  /** Live figures change at most this often (the issue: at most twice a second). */
  readonly liveIntervalMs?: number
}

export const createEditorStore = (options: EditorOptions) => {
  const { api, notify } = options
  const liveIntervalMs = options.liveIntervalMs ?? 500
  const [state, setState] = createStore<EditorState>({
    loaded: false,
    version: "",
    routingMode: "percentage",
    endpoints: [],
    blocks: [],
    global: emptyGlobal,
    connection: "connecting",
    selection: { nodes: [], wire: null },
    inspector: null,
    fieldErrors: {},
    snapToGrid: true,
    history: { undo: 0, redo: 0 },
    wiringFrom: null
  })
  const history = createHistory((sizes) => setState("history", sizes))
  /** An edit action whose undo entry Ctrl+Z waits for. */
  const recorded =
    <Args extends ReadonlyArray<unknown>, A>(action: (...args: Args) => Promise<A>) =>
    (...args: Args) =>
      history.edit(() => action(...args))
  const pending = new Pending()
  /** The last state the server told us, with the answers of our own calls folded in. */
  let snapshot: LiveState | null = null
  /** Positions of nodes being dragged, held against snapshots that arrive mid-drag. */
  const dragging = new Map<string, Position>()
  const withDrag = <T extends { readonly pos_x: number; readonly pos_y: number }>(key: string, item: T): T => {
    const at = dragging.get(key)
    return at === undefined ? item : { ...item, pos_x: at.x, pos_y: at.y }
  }

  // ---- the view: snapshot + pending edits -> store -------------------------------------------------

  const render = () => {
    if (snapshot === null) return
    const snap = snapshot
    const endpoints = snap.endpoints
      .filter((e) => !pending.has(endpointKey(e.id), DELETED))
      .map((e) => withDrag(endpointKey(e.id), pending.apply(endpointKey(e.id), e)))
    const present = new Set(endpoints.map((e) => e.id))
    const routingMode = (pending.value("routing", "mode") as RoutingMode | undefined) ?? snap.routing_mode
    const blocks = snap.incoming_blocks
      .filter((b) => !pending.has(blockKey(b.id), DELETED))
      .map((b) => {
        const shown = withDrag(blockKey(b.id), pending.apply(blockKey(b.id), b))
        return {
          ...shown,
          routing_mode: b.id === DEFAULT_BLOCK ? routingMode : shown.routing_mode,
          endpoint_ids: shown.endpoint_ids.filter((id) => present.has(id))
        }
      })
    batch(() => {
      // copies: the store adopts the objects it is given and later writes into them, and the
      // snapshot must stay what the server said (rollbacks read it)
      setState("endpoints", reconcile(structuredClone(endpoints), { key: "id", merge: true }))
      setState("blocks", reconcile(structuredClone(blocks), { key: "id", merge: true }))
      setState("global", reconcile({ ...snap.global }))
      setState("routingMode", routingMode)
      setState("version", snap.version)
      setState("loaded", true)
      const nodes = new Set([...endpoints.map((e) => endpointKey(e.id)), ...blocks.map((b) => blockKey(b.id))])
      setState("selection", "nodes", (keys) => keys.filter((k) => nodes.has(k)))
      if (state.inspector !== null && state.inspector.includes(":") && !nodes.has(state.inspector)) {
        setState("inspector", null)
      }
    })
  }

  /** Folds a change the server confirmed into the snapshot, so the view does not wait for the stream. */
  const amend = (change: (draft: { -readonly [K in keyof LiveState]: LiveState[K] }) => void) => {
    if (snapshot === null) return
    const draft = { ...snapshot }
    change(draft)
    snapshot = draft
  }
  const amendEndpoint = (e: EndpointPublic) =>
    amend((d) => {
      const known = d.endpoints.some((x) => x.id === e.id)
      d.endpoints = known
        ? d.endpoints.map((x) => (x.id === e.id ? { ...x, ...e } : x))
        : [...d.endpoints, { ...liveDefaults, ...e }]
      d.incoming_blocks = d.incoming_blocks.map((b) =>
        b.id !== DEFAULT_BLOCK || b.endpoint_ids.includes(e.id) === e.connected
          ? b
          : { ...b, endpoint_ids: e.connected ? [...b.endpoint_ids, e.id] : b.endpoint_ids.filter((id) => id !== e.id) }
      )
    })
  const amendBlock = (block: Block) =>
    amend((d) => {
      const known = d.incoming_blocks.some((b) => b.id === block.id)
      d.incoming_blocks = known
        ? d.incoming_blocks.map((b) => (b.id === block.id ? block : b))
        : [...d.incoming_blocks, block]
      if (block.id === DEFAULT_BLOCK) {
        d.endpoints = d.endpoints.map((e) => {
          const connected = block.endpoint_ids.includes(e.id)
          return e.connected === connected ? e : { ...e, connected }
        })
      }
    })

  let lastLive = 0
  let liveTimer: ReturnType<typeof setTimeout> | undefined
  /** A snapshot from the event stream; applied at once, or at most every `liveIntervalMs`. */
  const receive = (next: LiveState) => {
    snapshot = next
    const wait = lastLive + liveIntervalMs - Date.now()
    if (wait <= 0) {
      lastLive = Date.now()
      render()
    } else if (liveTimer === undefined) {
      liveTimer = setTimeout(() => {
        liveTimer = undefined
        lastLive = Date.now()
        render()
      }, wait)
    }
  }

  // ---- one optimistic call -------------------------------------------------------------------------

  /** Failures already shown in a toast (undo and redo do not show them twice). */
  const notified = new WeakSet<Error>()
  let lastFailure: ApiError | null = null
  const refusedWith = (error: unknown, what: string) => {
    const failure = failureOf(error)
    if (failure.field !== undefined) setState("fieldErrors", failure.field, failure.message)
    notify(`${what} failed: ${failure.message}`, "error")
    notified.add(failure)
    lastFailure = failure
  }

  /**
   * Lays `fields` over `key`, runs `call`, then releases them. On a refusal: a toast, the field error
   * for the inspector, and false. The view re-renders on both edges.
   */
  const optimistic = async <A>(
    key: string,
    fields: Record<string, unknown>,
    call: () => Promise<A>,
    onSuccess: (a: A) => void,
    what: string
  ): Promise<boolean> => {
    const token = pending.set(key, fields)
    render()
    try {
      const answer = await call()
      onSuccess(answer)
      return true
    } catch (error) {
      refusedWith(error, what)
      return false
    } finally {
      pending.release(key, token)
      render()
    }
  }

  /** Runs a create call (nothing to show before the id is known); errors as in `optimistic`. */
  const created = async <A>(call: () => Promise<A>, onSuccess: (a: A) => void, what: string): Promise<A | null> => {
    try {
      const answer = await call()
      onSuccess(answer)
      render()
      return answer
    } catch (error) {
      refusedWith(error, what)
      return null
    }
  }

  /** For undo and redo: the same calls, but a refusal is thrown (the history keeps the entry). */
  const strict = async <A>(call: Promise<A>): Promise<Exclude<A, null | false>> => {
    lastFailure = null
    const result = await call
    if (result === false || result === null) throw lastFailure ?? refused()
    return result as Exclude<A, null | false>
  }

  const findEndpoint = (id: string) => snapshot?.endpoints.find((e) => e.id === id)
  const findBlock = (id: string) => snapshot?.incoming_blocks.find((b) => b.id === id)

  // ---- raw edits (no history) ----------------------------------------------------------------------

  const raw = {
    updateEndpoint: (id: string, changes: EndpointChanges) =>
      optimistic(endpointKey(id), changes, () => api.updateEndpoint(id, changes), amendEndpoint, "Saving the endpoint"),
    updateBlock: (id: string, changes: BlockChanges) =>
      optimistic(blockKey(id), changes, () => api.updateBlock(id, changes), amendBlock, "Saving the incoming block"),
    createEndpoint: (input: EndpointInput) => created(() => api.createEndpoint(input), amendEndpoint, "Creating the endpoint"),
    createBlock: (input: BlockInput) => created(() => api.createBlock(input), amendBlock, "Creating the incoming block"),
    deleteEndpoint: (id: string) =>
      optimistic(
        endpointKey(id),
        { [DELETED]: true },
        () => api.deleteEndpoint(id),
        () =>
          amend((d) => {
            d.endpoints = d.endpoints.filter((e) => e.id !== id)
            d.incoming_blocks = d.incoming_blocks.map((b) =>
              b.endpoint_ids.includes(id) ? { ...b, endpoint_ids: b.endpoint_ids.filter((x) => x !== id) } : b
            )
          }),
        "Deleting the endpoint"
      ),
    deleteBlock: (id: string) =>
      optimistic(
        blockKey(id),
        { [DELETED]: true },
        () => api.deleteBlock(id),
        () => amend((d) => void (d.incoming_blocks = d.incoming_blocks.filter((b) => b.id !== id))),
        "Deleting the incoming block"
      ),
    setRoutingMode: (mode: RoutingMode) =>
      optimistic("routing", { mode }, () => api.setRoutingMode(mode), () => amend((d) => void (d.routing_mode = mode)), "Switching the routing mode"),
    /** Wires or unwires: `default` through the endpoint's `connected`, other blocks through their list. */
    setWire: (blockId: string, endpointId: string, wired: boolean) => {
      if (blockId === DEFAULT_BLOCK) {
        const block = findBlock(DEFAULT_BLOCK)
        const ids = (pending.value(blockKey(DEFAULT_BLOCK), "endpoint_ids") as ReadonlyArray<string> | undefined) ?? block?.endpoint_ids ?? []
        const token = pending.set(blockKey(DEFAULT_BLOCK), {
          endpoint_ids: wired ? [...ids.filter((x) => x !== endpointId), endpointId] : ids.filter((x) => x !== endpointId)
        })
        return raw.updateEndpoint(endpointId, { connected: wired }).finally(() => {
          pending.release(blockKey(DEFAULT_BLOCK), token)
          render()
        })
      }
      const current = state.blocks.find((b) => b.id === blockId)?.endpoint_ids ?? []
      const next = wired ? [...current.filter((x) => x !== endpointId), endpointId] : current.filter((x) => x !== endpointId)
      return raw.updateBlock(blockId, { endpoint_ids: next })
    }
  }

  // ---- the actions the page uses -------------------------------------------------------------------

  const clearFieldErrors = () => setState("fieldErrors", reconcile({}))

  const actions = {
    receive,
    setConnection: (status: ConnectionStatus) => setState("connection", status),

    /** Reads the state once (before the first event arrives). */
    load: async () => {
      try {
        snapshot = await api.state()
        render()
        return true
      } catch (error) {
        notify(`Loading the state failed: ${failureOf(error).message}`, "error")
        return false
      }
    },

    // selection and inspector
    selectNode: (key: string, additive = false) =>
      setState("selection", {
        nodes: additive
          ? state.selection.nodes.includes(key)
            ? state.selection.nodes.filter((k) => k !== key)
            : [...state.selection.nodes, key]
          : [key],
        wire: null
      }),
    selectNodes: (keys: ReadonlyArray<string>) => setState("selection", { nodes: [...keys], wire: null }),
    selectWire: (key: string) => setState("selection", { nodes: [], wire: key }),
    clearSelection: () => batch(() => {
      setState("selection", { nodes: [], wire: null })
      setState("wiringFrom", null)
    }),
    open: (key: string | null) => batch(() => {
      clearFieldErrors()
      setState("inspector", key)
      if (key !== null && key.includes(":")) setState("selection", { nodes: [key], wire: null })
    }),
    clearFieldError: (field: string) => setState("fieldErrors", produce((errors) => void delete errors[field])),
    toggleSnap: () => setState("snapToGrid", (on) => !on),
    startWiring: (blockId: string | null) => setState("wiringFrom", blockId),

    /** Per drag frame: moves nodes on the canvas only (the server hears of it on drop). */
    moveLocal: (moves: ReadonlyArray<{ readonly key: string; readonly position: Position }>) =>
      batch(() => {
        for (const { key, position } of moves) {
          const { kind, id } = parseNodeKey(key)
          const list = kind === "endpoint" ? "endpoints" : "blocks"
          const index = state[list].findIndex((n) => n.id === id)
          if (index < 0) continue
          dragging.set(key, position)
          setState(list, index, { pos_x: position.x, pos_y: position.y })
        }
      }),

    /** On drop: one PATCH per moved node, one undo entry for the whole move. */
    commitMoves: recorded(async (moves: ReadonlyArray<{ readonly key: string; readonly from: Position; readonly to: Position }>) => {
      const real = moves.filter((m) => m.from.x !== m.to.x || m.from.y !== m.to.y)
      const place = (ids: { resolve: (id: string) => string } | null, which: "from" | "to") =>
        Promise.all(
          real.map((m) => {
            const { kind, id } = parseNodeKey(m.key)
            const target = ids === null ? id : ids.resolve(id)
            const changes = { pos_x: m[which].x, pos_y: m[which].y }
            return kind === "endpoint" ? raw.updateEndpoint(target, changes) : raw.updateBlock(target, changes)
          })
        ).then((oks) => oks.every(Boolean))
      const placed = place(null, "to")
      // the PATCHes' own pending fields hold the new positions from here on
      for (const m of moves) dragging.delete(m.key)
      render()
      const ok = await placed
      if (ok && real.length > 0) {
        history.push({
          label: real.length === 1 ? "Move node" : `Move ${real.length} nodes`,
          undo: (ids) => strict(place(ids, "from")),
          redo: (ids) => strict(place(ids, "to"))
        })
      }
      return ok
    }),

    updateEndpoint: recorded(async (id: string, changes: EndpointChanges) => {
      const before = findEndpoint(id)
      clearFieldErrors()
      const ok = await raw.updateEndpoint(id, changes)
      if (ok && before !== undefined) {
        const previous = Object.fromEntries(
          Object.keys(changes)
            .filter((k) => k !== "api_key")
            .map((k) => [k, (before as unknown as Record<string, unknown>)[k]])
        ) as EndpointChanges
        const forward = Object.fromEntries(Object.entries(changes).filter(([k]) => k !== "api_key")) as EndpointChanges
        if (Object.keys(forward).length > 0) {
          history.push({
            label: `Edit ${before.name}`,
            undo: (ids) => strict(raw.updateEndpoint(ids.resolve(id), previous)),
            redo: (ids) => strict(raw.updateEndpoint(ids.resolve(id), forward))
          })
        }
      }
      return ok
    }),

    createEndpoint: recorded(async (input: EndpointInput) => {
      clearFieldErrors()
      const endpoint = await raw.createEndpoint(input)
      if (endpoint === null) return null
      const firstId = endpoint.id
      const restore = endpointInputOf(endpoint)
      history.push({
        label: `Create ${endpoint.name}`,
        undo: (ids) => strict(raw.deleteEndpoint(ids.resolve(firstId))),
        redo: async (ids) => {
          const again = await strict(raw.createEndpoint(restore))
          ids.remap(firstId, again.id)
        }
      })
      return endpoint
    }),

    deleteEndpoint: recorded(async (id: string) => {
      const before = findEndpoint(id)
      const wiredTo = (snapshot?.incoming_blocks ?? []).filter((b) => b.id !== DEFAULT_BLOCK && b.endpoint_ids.includes(id)).map((b) => b.id)
      const ok = await raw.deleteEndpoint(id)
      if (ok && before !== undefined) {
        const restore = endpointInputOf(before)
        history.push({
          label: `Delete ${before.name}`,
          undo: async (ids) => {
            const again = await strict(raw.createEndpoint(restore))
            ids.remap(id, again.id)
            for (const blockId of wiredTo) await strict(raw.setWire(ids.resolve(blockId), again.id, true))
            if (before.api_key_preview !== null) notify(`${before.name} is back; its API key must be entered again`, "info")
          },
          redo: (ids) => strict(raw.deleteEndpoint(ids.resolve(id)))
        })
      }
      return ok
    }),

    updateBlock: recorded(async (id: string, changes: BlockChanges) => {
      const before = findBlock(id)
      clearFieldErrors()
      const ok = await raw.updateBlock(id, changes)
      if (ok && before !== undefined) {
        const previous = Object.fromEntries(Object.keys(changes).map((k) => [k, (before as unknown as Record<string, unknown>)[k]])) as BlockChanges
        history.push({
          label: `Edit ${before.name}`,
          undo: (ids) => strict(raw.updateBlock(ids.resolve(id), previous)),
          redo: (ids) => strict(raw.updateBlock(ids.resolve(id), changes))
        })
      }
      return ok
    }),

    createBlock: recorded(async (input: BlockInput) => {
      clearFieldErrors()
      const block = await raw.createBlock(input)
      if (block === null) return null
      const firstId = block.id
      const { id: _, ...restore } = block
      history.push({
        label: `Create ${block.name}`,
        undo: (ids) => strict(raw.deleteBlock(ids.resolve(firstId))),
        redo: async (ids) => {
          const again = await strict(raw.createBlock({ ...restore, endpoint_ids: restore.endpoint_ids.map(ids.resolve) }))
          ids.remap(firstId, again.id)
        }
      })
      return block
    }),

    deleteBlock: recorded(async (id: string) => {
      const before = findBlock(id)
      const ok = await raw.deleteBlock(id)
      if (ok && before !== undefined) {
        const { id: _, ...restore } = before
        history.push({
          label: `Delete ${before.name}`,
          undo: async (ids) => {
            const again = await strict(raw.createBlock({ ...restore, endpoint_ids: restore.endpoint_ids.map(ids.resolve) }))
            ids.remap(id, again.id)
          },
          redo: (ids) => strict(raw.deleteBlock(ids.resolve(id)))
        })
      }
      return ok
    }),

    setRoutingMode: recorded(async (mode: RoutingMode) => {
      const before = state.routingMode
      if (before === mode) return true
      const ok = await raw.setRoutingMode(mode)
      if (ok) {
        history.push({
          label: `Routing mode ${mode}`,
          undo: () => strict(raw.setRoutingMode(before)),
          redo: () => strict(raw.setRoutingMode(mode))
        })
      }
      return ok
    }),

    /** Draws a wire from a block to an endpoint; refuses duplicates. */
    connect: recorded(async (blockId: string, endpointId: string) => {
      const block = state.blocks.find((b) => b.id === blockId)
      if (block === undefined || block.endpoint_ids.includes(endpointId)) return false
      const ok = await raw.setWire(blockId, endpointId, true)
      if (ok) {
        history.push({
          label: "Add wire",
          undo: (ids) => strict(raw.setWire(ids.resolve(blockId), ids.resolve(endpointId), false)),
          redo: (ids) => strict(raw.setWire(ids.resolve(blockId), ids.resolve(endpointId), true))
        })
      }
      return ok
    }),

    disconnect: recorded(async (blockId: string, endpointId: string) => {
      const ok = await raw.setWire(blockId, endpointId, false)
      if (ok) {
        if (state.selection.wire === wireKey(blockId, endpointId)) setState("selection", "wire", null)
        history.push({
          label: "Delete wire",
          undo: (ids) => strict(raw.setWire(ids.resolve(blockId), ids.resolve(endpointId), true)),
          redo: (ids) => strict(raw.setWire(ids.resolve(blockId), ids.resolve(endpointId), false))
        })
      }
      return ok
    }),

    /** Deletes whatever is selected: the wire, or the nodes (the default block cannot be deleted). */
    deleteSelection: async () => {
      const wire = state.selection.wire
      if (wire !== null) {
        const [blockId, endpointId] = wire.split(">") as [string, string]
        return actions.disconnect(blockId, endpointId)
      }
      const results = await Promise.all(
        state.selection.nodes.map((key) => {
          const { kind, id } = parseNodeKey(key)
          if (kind === "endpoint") return actions.deleteEndpoint(id)
          return id === DEFAULT_BLOCK ? Promise.resolve(false) : actions.deleteBlock(id)
        })
      )
      return results.every(Boolean)
    },

    undo: () =>
      history.undo().catch((error: unknown) => {
        if (!(error instanceof Error && notified.has(error))) notify(`Undo failed: ${failureOf(error).message}`, "error")
        return false
      }),
    redo: () =>
      history.redo().catch((error: unknown) => {
        if (!(error instanceof Error && notified.has(error))) notify(`Redo failed: ${failureOf(error).message}`, "error")
        return false
      })
  }

  return [state, actions] as const
}

export type EditorStore = ReturnType<typeof createEditorStore>
export type EditorActions = EditorStore[1]
