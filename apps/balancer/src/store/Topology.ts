/**
 * The configured topology (endpoints, routing mode, incoming position): held in memory for the data
 * plane's synchronous reads, written through to SQLite by the admin API. Mutations are serialised so
 * that the checks before a write (unique names) hold when it lands.
 */
import { Endpoint } from "@llmlb/core"
import { Effect, Option } from "effect"
import { Conflict, NotFound } from "../Errors.js"
import { EndpointRepo } from "./EndpointRepo.js"
import { SettingsRepo } from "./SettingsRepo.js"

const ROUTING_MODE = "routing_mode"
const INCOMING_POS = "incoming_pos"

export class Topology extends Effect.Service<Topology>()("Topology", {
  effect: Effect.gen(function*() {
    const repo = yield* EndpointRepo
    const settings = yield* SettingsRepo
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
        return record
      }).pipe(lock.withPermits(1))

    const update = (id: string, patch: Endpoint.EndpointPatch) =>
      Effect.gen(function*() {
        const current = yield* find(id)
        if (patch.name !== undefined) yield* ensureNameFree(patch.name, id)
        const next = Endpoint.applyPatch(current, patch)
        yield* repo.update(next)
        endpoints = endpoints.map((e) => (e.id === id ? next : e))
        return next
      }).pipe(lock.withPermits(1))

    const remove = (id: string) =>
      Effect.gen(function*() {
        yield* find(id)
        yield* repo.remove(id)
        endpoints = endpoints.filter((e) => e.id !== id)
      }).pipe(lock.withPermits(1))

    const setRoutingMode = (mode: Endpoint.RoutingMode) =>
      settings.set(ROUTING_MODE, Endpoint.RoutingMode, mode).pipe(
        Effect.tap(() => {
          routingMode = mode
        }),
        lock.withPermits(1)
      )

    const setIncomingPos = (pos: Endpoint.Position) =>
      settings.set(INCOMING_POS, Endpoint.Position, pos).pipe(
        Effect.tap(() => {
          incomingPos = pos
        }),
        lock.withPermits(1)
      )

    return {
      /** The endpoints in creation order; the same array until the next mutation. */
      endpoints: () => endpoints,
      routingMode: () => routingMode,
      incomingPos: () => incomingPos,
      find,
      create,
      update,
      remove,
      setRoutingMode,
      setIncomingPos
    } as const
  })
}) {}
