/**
 * The configured topology (endpoints, incoming blocks and their wires, routing mode, incoming position):
 * held in memory for the data plane's synchronous reads, written through to SQLite by the admin API.
 * Mutations are serialised so that the checks before a write (unique names, known ids) hold when it
 * lands; `onChange` listeners hear of each one synchronously after it.
 *
 * The `default` block is a view over other state (DESIGN.md "Traffic model"): its position is the
 * incoming position, its routing mode the global one, its wires the connected endpoints.
 */
import { SqlClient } from "@effect/sql"
import { BadRequest, Conflict, NotFound } from "@llmlb/api"
import { Endpoint, IncomingBlock } from "@llmlb/core"
import { Effect, Option } from "effect"
import { BlockRepo } from "./BlockRepo.js"
import { EndpointRepo } from "./EndpointRepo.js"
import { SettingsRepo } from "./SettingsRepo.js"
import { TokenRepo } from "./TokenRepo.js"

const ROUTING_MODE = "routing_mode"
const INCOMING_POS = "incoming_pos"
const DEFAULT_ID = IncomingBlock.DEFAULT_ID

export interface BlockView {
  readonly id: string
  readonly name: string
  readonly routing_mode: Endpoint.RoutingMode | null
  readonly enabled: boolean
  readonly pos_x: number
  readonly pos_y: number
  readonly endpoint_ids: ReadonlyArray<string>
}

const noEndpoints: ReadonlyArray<Endpoint.EndpointRecord> = []

export class Topology extends Effect.Service<Topology>()("Topology", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* EndpointRepo
    const blockRepo = yield* BlockRepo
    const settings = yield* SettingsRepo
    const tokenRepo = yield* TokenRepo
    const lock = yield* Effect.makeSemaphore(1)

    let endpoints: ReadonlyArray<Endpoint.EndpointRecord> = yield* repo.list
    let routingMode: Endpoint.RoutingMode = Option.getOrElse(
      yield* settings.get(ROUTING_MODE, Endpoint.RoutingMode),
      (): Endpoint.RoutingMode => "percentage"
    )
    let incomingPos: Endpoint.Position = Option.getOrElse(
      yield* settings.get(INCOMING_POS, Endpoint.Position),
      () => ({ pos_x: 0, pos_y: 0 })
    )
    const stored = yield* blockRepo.list
    let defaultEnabled = stored.find((b) => b.id === DEFAULT_ID)?.enabled ?? true
    /** The blocks other than `default`, in creation order, wires in endpoint creation order. */
    let others: ReadonlyArray<BlockView> = stored.filter((b) => b.id !== DEFAULT_ID)

    // Derived from the above for the data plane's reads; rebuilt after every mutation.
    let blocks: ReadonlyArray<BlockView> = []
    let byName = new Map<string, BlockView>()
    let byId = new Map<string, BlockView>()
    let wired = new Map<string, ReadonlyArray<Endpoint.EndpointRecord>>()
    const listeners = new Set<() => void>()

    const inEndpointOrder = (ids: ReadonlyArray<string>) => {
      const wanted = new Set(ids)
      return endpoints.filter((e) => wanted.has(e.id))
    }

    const rebuild = () => {
      const connected = endpoints.filter((e) => e.connected)
      const defaultBlock: BlockView = {
        id: DEFAULT_ID,
        name: DEFAULT_ID,
        routing_mode: routingMode,
        enabled: defaultEnabled,
        ...incomingPos,
        endpoint_ids: connected.map((e) => e.id)
      }
      blocks = [defaultBlock, ...others]
      byName = new Map(blocks.map((b) => [b.name, b]))
      byId = new Map(blocks.map((b) => [b.id, b]))
      wired = new Map(blocks.map((b) => [b.id, b === defaultBlock ? connected : inEndpointOrder(b.endpoint_ids)]))
    }
    rebuild()

    /** Ends every successful mutation. */
    const changed = () => {
      rebuild()
      for (const listener of listeners) listener()
    }

    // Endpoints

    const find = (id: string) =>
      Effect.suspend(() => {
        const found = endpoints.find((e) => e.id === id)
        return found === undefined ? Effect.fail(new NotFound({ message: `endpoint ${id} not found` })) : Effect.succeed(found)
      })

    const ensureNameFree = (name: string, exceptId?: string) => {
      const lower = name.toLowerCase()
      return endpoints.some((e) => e.id !== exceptId && e.name.toLowerCase() === lower)
        ? Effect.fail(new Conflict({ message: `an endpoint named "${name}" already exists` }))
        : Effect.void
    }

    const create = (input: Endpoint.EndpointCreate) =>
      Effect.gen(function*() {
        yield* ensureNameFree(input.name)
        const record: Endpoint.EndpointRecord = { id: crypto.randomUUID(), ...input }
        yield* repo.insert(record)
        endpoints = [...endpoints, record]
        changed()
        return record
      }).pipe(lock.withPermits(1))

    const update = (id: string, patch: Endpoint.EndpointPatch) =>
      Effect.gen(function*() {
        const current = yield* find(id)
        if (patch.name !== undefined) yield* ensureNameFree(patch.name, id)
        const next = Endpoint.applyPatch(current, patch)
        yield* repo.update(next)
        endpoints = endpoints.map((e) => (e.id === id ? next : e))
        changed()
        return next
      }).pipe(lock.withPermits(1))

    /** Its wires go with it. */
    const remove = (id: string) =>
      Effect.gen(function*() {
        yield* find(id)
        yield* repo.remove(id)
        endpoints = endpoints.filter((e) => e.id !== id)
        others = others.map((b) => b.endpoint_ids.includes(id) ? { ...b, endpoint_ids: b.endpoint_ids.filter((w) => w !== id) } : b)
        changed()
      }).pipe(lock.withPermits(1))

    const setRoutingMode = (mode: Endpoint.RoutingMode) =>
      settings.set(ROUTING_MODE, Endpoint.RoutingMode, mode).pipe(
        Effect.tap(() => {
          routingMode = mode
          changed()
        }),
        lock.withPermits(1)
      )

    const setIncomingPos = (pos: Endpoint.Position) =>
      settings.set(INCOMING_POS, Endpoint.Position, pos).pipe(
        Effect.tap(() => {
          incomingPos = pos
          changed()
        }),
        lock.withPermits(1)
      )

    // Incoming blocks

    const findBlock = (id: string) =>
      Effect.suspend(() => {
        const found = byId.get(id)
        return found === undefined ? Effect.fail(new NotFound({ message: `incoming block ${id} not found` })) : Effect.succeed(found)
      })

    const ensureBlockNameFree = (name: string, exceptId?: string) =>
      byName.has(name) && byName.get(name)!.id !== exceptId
        ? Effect.fail(new Conflict({ message: `an incoming block named "${name}" already exists` }))
        : Effect.void

    /** The given endpoint ids, all known, de-duplicated and in endpoint creation order. */
    const resolveWires = (ids: ReadonlyArray<string>) =>
      Effect.suspend(() => {
        const known = new Set(endpoints.map((e) => e.id))
        const unknown = ids.filter((id) => !known.has(id))
        return unknown.length > 0
          ? Effect.fail(new BadRequest({ message: `endpoint_ids: no endpoint with id ${unknown.join(", ")}` }))
          : Effect.succeed(inEndpointOrder(ids).map((e) => e.id))
      })

    const createBlock = (input: IncomingBlock.BlockCreate) =>
      Effect.gen(function*() {
        yield* ensureBlockNameFree(input.name)
        const block: BlockView = { id: crypto.randomUUID(), ...input, endpoint_ids: yield* resolveWires(input.endpoint_ids) }
        yield* blockRepo.insert(block)
        others = [...others, block]
        changed()
        return block
      }).pipe(lock.withPermits(1))

    /** Writes the views of `default` through to what they show: settings, its row, `connected`. */
    const updateDefault = (next: BlockView) =>
      Effect.gen(function*() {
        const mode = next.routing_mode
        if (mode === null) {
          return yield* Effect.fail(
            new BadRequest({ message: "routing_mode: the default block uses the global routing mode and cannot be null" })
          )
        }
        const pos = { pos_x: next.pos_x, pos_y: next.pos_y }
        const wires = new Set(next.endpoint_ids)
        const rewired = endpoints.filter((e) => e.connected !== wires.has(e.id)).map((e) => ({ ...e, connected: !e.connected }))
        yield* Effect.all([
          settings.set(ROUTING_MODE, Endpoint.RoutingMode, mode),
          settings.set(INCOMING_POS, Endpoint.Position, pos),
          blockRepo.setEnabled(DEFAULT_ID, next.enabled),
          Effect.forEach(rewired, repo.update)
        ]).pipe(sql.withTransaction, Effect.orDie)
        routingMode = mode
        incomingPos = pos
        defaultEnabled = next.enabled
        endpoints = endpoints.map((e) => rewired.find((r) => r.id === e.id) ?? e)
      })

    const updateBlock = (id: string, patch: IncomingBlock.BlockPatch) =>
      Effect.gen(function*() {
        const current = yield* findBlock(id)
        const { endpoint_ids, ...fields } = patch
        const next: BlockView = {
          ...current,
          ...fields,
          endpoint_ids: endpoint_ids === undefined ? current.endpoint_ids : yield* resolveWires(endpoint_ids)
        }
        if (next.name !== current.name) {
          if (id === DEFAULT_ID) {
            return yield* Effect.fail(new BadRequest({ message: "name: the default block cannot be renamed" }))
          }
          yield* ensureBlockNameFree(next.name, id)
        }
        if (id === DEFAULT_ID) {
          yield* updateDefault(next)
        } else {
          yield* blockRepo.update(next)
          others = others.map((b) => (b.id === id ? next : b))
        }
        changed()
        return yield* findBlock(id)
      }).pipe(lock.withPermits(1))

    /**
     * Its wires go with it. Refused while client tokens are bound to it: the check and the deletion
     * share a transaction, as a token's write and its check of the block do (store/TokenRepo.ts).
     */
    const removeBlock = (id: string) =>
      Effect.gen(function*() {
        const block = yield* findBlock(id)
        if (id === DEFAULT_ID) {
          return yield* Effect.fail(new Conflict({ message: "the default block cannot be deleted" }))
        }
        yield* Effect.gen(function*() {
          const bound = yield* tokenRepo.boundTo(id)
          if (bound.length > 0) {
            const names = bound.map((name) => JSON.stringify(name)).join(", ")
            return yield* Effect.fail(
              new Conflict({
                message: `incoming block ${block.name} is bound to client tokens ${names}: rebind or delete them first`
              })
            )
          }
          yield* blockRepo.remove(id)
        }).pipe(sql.withTransaction, Effect.catchTag("SqlError", Effect.die))
        others = others.filter((b) => b.id !== id)
        changed()
      }).pipe(lock.withPermits(1))

    /**
     * Takes in the configuration as stored now (several replicas: another one changed it); listeners
     * hear of it only when something differs.
     */
    const reload = Effect.gen(function*() {
      const nextEndpoints = yield* repo.list
      const nextMode = Option.getOrElse(yield* settings.get(ROUTING_MODE, Endpoint.RoutingMode), (): Endpoint.RoutingMode => "percentage")
      const nextPos = Option.getOrElse(yield* settings.get(INCOMING_POS, Endpoint.Position), () => ({ pos_x: 0, pos_y: 0 }))
      const nextBlocks = yield* blockRepo.list
      const nextDefaultEnabled = nextBlocks.find((b) => b.id === DEFAULT_ID)?.enabled ?? true
      const nextOthers = nextBlocks.filter((b) => b.id !== DEFAULT_ID)
      const before = JSON.stringify([endpoints, routingMode, incomingPos, defaultEnabled, others])
      if (JSON.stringify([nextEndpoints, nextMode, nextPos, nextDefaultEnabled, nextOthers]) === before) return false
      endpoints = nextEndpoints
      routingMode = nextMode
      incomingPos = nextPos
      defaultEnabled = nextDefaultEnabled
      others = nextOthers
      changed()
      return true
    }).pipe(lock.withPermits(1))

    return {
      reload,
      /** The endpoints in creation order; the same array until the next mutation. */
      endpoints: () => endpoints,
      routingMode: () => routingMode,
      incomingPos: () => incomingPos,
      /** Every block, `default` first, then in creation order; the same array until the next mutation. */
      blocks: () => blocks,
      blockByName: (name: string): BlockView | undefined => byName.get(name),
      blockById: (id: string): BlockView | undefined => byId.get(id),
      defaultBlock: (): BlockView => blocks[0]!,
      /** The endpoints wired to the block (all of them, enabled or not) in creation order; [] for an unknown id. */
      wiredEndpoints: (blockId: string) => wired.get(blockId) ?? noEndpoints,
      effectiveMode: (block: BlockView): Endpoint.RoutingMode => block.routing_mode ?? routingMode,
      /** Called synchronously after every successful mutation (so it must not throw); returns the unsubscribe. */
      onChange: (listener: () => void) => {
        listeners.add(listener)
        return () => {
          listeners.delete(listener)
        }
      },
      find,
      create,
      update,
      remove,
      setRoutingMode,
      setIncomingPos,
      findBlock,
      createBlock,
      updateBlock,
      removeBlock
    } as const
  })
}) {}
