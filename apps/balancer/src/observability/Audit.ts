/**
 * The audit trail of admin mutations (DESIGN.md "Admin and security"), each with the replica that made it
 * (LB_REPLICA_ID): each one is logged as a JSON
 * line at once and queued for the `audit_log` table, which a background fiber writes in batches every
 * second and at shutdown. Reading the log writes the queue first, so a reader sees its own mutations.
 *
 * Secret fields (`api_key`, `token`) are recorded as "[redacted]" (null stays null: "cleared").
 * Moves are coalesced: a change of nothing but `pos_x`/`pos_y` (dragging a node on the canvas) is held
 * until its target has been still for 5 s, then recorded once with the first old and the last new
 * position (at once when the target gets another kind of change, or at shutdown). So a move is
 * recorded with the time of its last step, possibly after mutations of other targets made meanwhile.
 *
 * Retention: entries older than LB_AUDIT_RETENTION_DAYS and all but the newest LB_AUDIT_MAX_ROWS are
 * deleted by a background fiber at start and every 10 minutes (0 turns either bound off).
 */
import { HttpServerRequest } from "@effect/platform"
import { Chunk, Effect, Queue, Schedule } from "effect"
import { LbConfig } from "../Config.js"
import { ClientAddress } from "../http/ClientAddress.js"
import { type AuditRecord, AuditRepo } from "../store/AuditRepo.js"
import { flushInBackground } from "./Background.js"

export type AuditChanges = Record<string, { readonly old?: unknown; readonly new?: unknown }>

const SECRET_FIELDS: ReadonlySet<string> = new Set(["api_key", "token"])
const POSITION_FIELDS: ReadonlySet<string> = new Set(["pos_x", "pos_y"])
const MOVE_QUIET_MS = 5_000
const WRITE_INTERVAL = "1 second"
const PRUNE_INTERVAL = "10 minutes"
const DAY_MS = 86_400_000

const fieldsOf = (fields: object) => Object.entries(fields).filter(([field, value]) => field !== "id" && value !== undefined)

/** Every field of a new object (its id is the target). */
export const created = (fields: object): AuditChanges =>
  Object.fromEntries(fieldsOf(fields).map(([field, value]) => [field, { new: value }]))

/** The fields of a patch, with the values they replace. */
export const updated = (before: object, patch: object): AuditChanges =>
  Object.fromEntries(fieldsOf(patch).map(([field, value]) => [field, { old: (before as Record<string, unknown>)[field], new: value }]))

/** Every field of a deleted object, so that the log still says what it was. */
export const deleted = (fields: object): AuditChanges =>
  Object.fromEntries(fieldsOf(fields).map(([field, value]) => [field, { old: value }]))

const hide = (value: unknown) => (value === null || value === undefined ? value : "[redacted]")

const redact = (changes: AuditChanges): AuditChanges =>
  Object.fromEntries(
    Object.entries(changes).map(([field, change]) => [
      field,
      SECRET_FIELDS.has(field) ? Object.fromEntries(Object.entries(change).map(([side, value]) => [side, hide(value)])) : change
    ])
  )

const isMove = (record: AuditRecord) => {
  const fields = Object.keys(record.changes)
  return fields.length > 0 && fields.every((field) => POSITION_FIELDS.has(field))
}

/** One move from two: the earlier one's old positions, the later one's new positions. */
const mergeMoves = (earlier: AuditRecord, later: AuditRecord): AuditRecord => {
  const changes: Record<string, { old?: unknown; new?: unknown }> = { ...earlier.changes }
  for (const [field, change] of Object.entries(later.changes)) {
    changes[field] = { ...change, ...(field in earlier.changes ? { old: earlier.changes[field]!.old } : {}) }
  }
  return { ...later, changes }
}

export class Audit extends Effect.Service<Audit>()("Audit", {
  scoped: Effect.gen(function*() {
    const repo = yield* AuditRepo
    const { auditMaxRows, auditRetentionDays, replicaId } = yield* LbConfig
    const addresses = yield* ClientAddress
    const queue = yield* Queue.unbounded<AuditRecord>()
    /** Writes in queue order, which is id order, even when a reader and the fiber both write. */
    const lock = yield* Effect.makeSemaphore(1)
    /** Told after every mutation is recorded: the live event stream pushes the new state. */
    const listeners = new Set<() => Effect.Effect<void>>()
    /** Moves still going on, by target. */
    const moves = new Map<string, { readonly record: AuditRecord; readonly at: number }>()

    const commit = (record: AuditRecord) =>
      Effect.logInfo("audit").pipe(Effect.annotateLogs("audit", record), Effect.zipRight(Queue.offer(queue, record)))

    const holdMove = (key: string, record: AuditRecord) =>
      Effect.sync(() => {
        const held = moves.get(key)
        moves.set(key, { record: held === undefined ? record : mergeMoves(held.record, record), at: Date.now() })
      })

    /** Commits the held move of a target that gets another change, so that the two stay in order. */
    const settleMove = (key: string) =>
      Effect.suspend(() => {
        const held = moves.get(key)
        moves.delete(key)
        return held === undefined ? Effect.void : commit(held.record)
      })

    /** Commits the moves that have come to rest (all of them at shutdown). */
    const settleMoves = (all: boolean) =>
      Effect.suspend(() => {
        const now = Date.now()
        const settled = [...moves].filter(([, move]) => all || now - move.at >= MOVE_QUIET_MS)
        for (const [key] of settled) moves.delete(key)
        return Effect.forEach(settled, ([, move]) => commit(move.record), { discard: true })
      })

    const write = Queue.takeAll(queue).pipe(
      Effect.flatMap((records) => repo.insert(Chunk.toReadonlyArray(records))),
      lock.withPermits(1)
    )

    yield* flushInBackground("audit", Effect.zipRight(settleMoves(false), write), WRITE_INTERVAL)

    const prune = Effect.gen(function*() {
      // Wall-clock time, as the entries' own `time` is.
      const now = Date.now()
      const deleted = yield* repo.prune({
        before: auditRetentionDays > 0 ? new Date(now - auditRetentionDays * DAY_MS).toISOString() : undefined,
        keepRows: auditMaxRows > 0 ? auditMaxRows : undefined
      }).pipe(lock.withPermits(1))
      if (deleted > 0) yield* Effect.logInfo(`audit: pruned ${deleted} entries`)
    }).pipe(Effect.catchAllCause((cause) => Effect.logError("audit: pruning failed", cause)))
    if (auditRetentionDays > 0 || auditMaxRows > 0) {
      yield* Effect.forkScoped(Effect.repeat(prune, Schedule.spaced(PRUNE_INTERVAL)))
    }
    // Runs before the background fiber stops and its last write (finalizers run last-in first-out).
    yield* Effect.addFinalizer(() => settleMoves(true))

    return {
      /**
       * The recorder of mutations of one type of target: `on("endpoint")("update", id, changes)` records
       * the action "endpoint.update" made by the current admin request.
       */
      on: (targetType: string) => (verb: string, targetId: string | null, changes: AuditChanges) =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
          const record: AuditRecord = {
            time: new Date().toISOString(),
            action: `${targetType}.${verb}`,
            target_type: targetType,
            target_id: targetId,
            changes: redact(changes),
            client_address: addresses.of(request),
            replica: replicaId
          }
          const key = `${targetType}:${targetId}`
          return (isMove(record) ? holdMove(key, record) : Effect.zipRight(settleMove(key), commit(record))).pipe(
            Effect.tap(() => Effect.forEach(listeners, (listener) => listener(), { discard: true }))
          )
        }),
      /**
       * Runs `listener` after each admin mutation (every one is audited), before the request is
       * answered; returns its removal.
       */
      onMutation: (listener: () => Effect.Effect<void>) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
      /** Newest first; `before` is an id: the next page after a page is `before` = its last id. */
      list: (options: { readonly limit: number; readonly before?: number | undefined }) =>
        Effect.zipRight(write, repo.list(options))
    } as const
  })
}) {}
