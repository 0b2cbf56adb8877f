/**
 * The panels' slices and actions against the real, built balancer: client tokens (create with the
 * secret once, field errors, edit, revoke), the audit log's paging and the confirmed operations.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createStore } from "solid-js/store"
import { spawnBalancer } from "../../balancer/test/support/Process.js"
import { createAdminSession, TOKEN_STORAGE_KEY } from "../src/api/index.js"
// The slices and stores only: the components need a DOM.
import { auditApi, type AuditSlice, createAuditActions, initialAudit } from "../src/editor/panels/audit.js"
import { type Notify, sliceSetter } from "../src/editor/panels/slice.js"
import { createPanelsStore, panelsApis } from "../src/editor/panels/store.js"
import { memoryStorage, waitFor } from "./api-support.js"

const ADMIN_TOKEN = "web-panels-token-0123456789"
const newBlock = (name: string) => ({ name, routing_mode: null, enabled: true, pos_x: 0, pos_y: 0, endpoint_ids: [] })

/** A balancer, a signed-in session, and the panels' store with the toasts it showed. */
const setup = Effect.gen(function*() {
  const lb = yield* spawnBalancer({ LB_DB_PATH: join(mkdtempSync(join(tmpdir(), "web-panels-")), "lb.db"), LB_ADMIN_TOKEN: ADMIN_TOKEN })
  const session = createAdminSession(lb.url, { storage: memoryStorage({ [TOKEN_STORAGE_KEY]: ADMIN_TOKEN }) })
  const toasts: Array<[string, string]> = []
  const notify: Notify = (message, kind) => void toasts.push([kind, message])
  const [state, actions] = createPanelsStore(panelsApis(session), notify)
  const call = <A>(f: (client: typeof session.client) => Effect.Effect<A, unknown>) => Effect.promise(() => session.call(f(session.client)))
  return { lb, session, state, actions, toasts, call }
})

const until = (what: string, condition: () => boolean) => Effect.promise(() => waitFor(what, condition))

describe("client tokens panel", () => {
  it.scopedLive("opening loads the tokens and the incoming blocks to bind them to", () =>
    Effect.gen(function*() {
      const { state, actions, call } = yield* setup
      yield* call((c) => c.incomingBlocks.create({ payload: newBlock("team-a") }))
      actions.open("tokens")
      expect(state.open).toBe("tokens")
      yield* until("the blocks", () => state.tokens.blocks.length === 2)
      expect(state.tokens.blocks.map((b) => b.name)).toEqual(["default", "team-a"])
      expect(state.tokens.items).toEqual([])
      expect(state.tokens.loading).toBe(false)
    }))

  it.scopedLive("creates a token with limits and a bound block and shows its working secret once", () =>
    Effect.gen(function*() {
      const { lb, state, actions, call, toasts } = yield* setup
      const block = yield* call((c) => c.incomingBlocks.create({ payload: newBlock("team-a") }))
      actions.open("tokens")
      yield* until("the blocks", () => state.tokens.blocks.length === 2)
      actions.tokens.startNew()
      actions.tokens.setDraft("name", "ci")
      actions.tokens.setDraft("rpm_limit", 60)
      actions.tokens.setDraft("tpm_limit", 10_000)
      actions.tokens.setDraft("block_id", block.id)
      yield* Effect.promise(actions.tokens.save)
      expect(state.tokens.editing).toBeNull()
      expect(state.tokens.items.map((t) => [t.name, t.rpm_limit, t.tpm_limit, t.block_id])).toEqual([["ci", 60, 10_000, block.id]])
      expect(state.tokens.items[0]).not.toHaveProperty("token")
      expect(toasts).toEqual([["success", 'Client token "ci" created']])

      const secret = state.tokens.secret!.token
      expect(state.tokens.secret!.name).toBe("ci")
      const models = (bearer: string) =>
        Effect.promise(() => fetch(`${lb.url}/v1/models`, { headers: { authorization: `Bearer ${bearer}` } }).then((r) => r.status))
      expect(yield* models(secret)).toBe(200)
      expect(yield* models(`${secret}x`)).toBe(401)

      actions.tokens.dismissSecret()
      yield* Effect.promise(actions.tokens.load)
      expect(JSON.stringify(state.tokens)).not.toContain(secret)
    }))

  it.scopedLive("a refused form shows the message beside the field it names and creates nothing", () =>
    Effect.gen(function*() {
      const { state, actions, call } = yield* setup
      actions.tokens.startNew()
      actions.tokens.setDraft("name", "limited")
      actions.tokens.setDraft("rpm_limit", 0)
      yield* Effect.promise(actions.tokens.save)
      expect(state.tokens.editing).toBe("new")
      expect(state.tokens.fieldErrors).toEqual({ rpm_limit: "rpm_limit must be null or between 1 and 1000000000" })
      actions.tokens.setDraft("rpm_limit", 5)
      expect(state.tokens.fieldErrors).toEqual({})
      actions.tokens.setDraft("block_id", "no-such-block")
      yield* Effect.promise(actions.tokens.save)
      expect(state.tokens.fieldErrors).toEqual({ block_id: "block_id: no incoming block with id no-such-block" })
      expect(yield* call((c) => c.tokens.list())).toEqual([])
    }))

  it.scopedLive("edits limits and the binding with a PATCH of the changed fields only", () =>
    Effect.gen(function*() {
      const { state, actions, call } = yield* setup
      const block = yield* call((c) => c.incomingBlocks.create({ payload: newBlock("team-b") }))
      actions.open("tokens")
      actions.tokens.startNew()
      actions.tokens.setDraft("name", "svc")
      yield* Effect.promise(actions.tokens.save)
      const id = state.tokens.items[0]!.id
      yield* until("the blocks", () => state.tokens.blocks.length === 2)

      actions.tokens.startEdit(id)
      expect(state.tokens.draft).toEqual({ name: "svc", rpm_limit: null, tpm_limit: null, block_id: null, enabled: true })
      actions.tokens.setDraft("tpm_limit", 5000)
      actions.tokens.setDraft("block_id", block.id)
      yield* Effect.promise(actions.tokens.save)
      expect(state.tokens.editing).toBeNull()
      const stored = yield* call((c) => c.tokens.get({ path: { tid: id } }))
      expect([stored.rpm_limit, stored.tpm_limit, stored.block_id]).toEqual([null, 5000, block.id])
      expect(state.tokens.items[0]).toEqual(stored)
      const [update] = yield* call((c) => c.audit.list({ urlParams: { limit: 1 } }))
      expect(update!.action).toBe("token.update")
      expect(Object.keys(update!.changes).sort()).toEqual(["block_id", "tpm_limit"])
    }))

  it.scopedLive("revokes only after confirmation", () =>
    Effect.gen(function*() {
      const { state, actions, call, toasts } = yield* setup
      actions.tokens.startNew()
      actions.tokens.setDraft("name", "old")
      yield* Effect.promise(actions.tokens.save)
      const id = state.tokens.items[0]!.id
      yield* Effect.promise(actions.tokens.revoke)
      expect((yield* call((c) => c.tokens.list())).length).toBe(1)
      actions.tokens.askRevoke(id)
      expect(state.tokens.revoking).toBe(id)
      yield* Effect.promise(actions.tokens.revoke)
      expect(state.tokens.revoking).toBeNull()
      expect(state.tokens.items).toEqual([])
      expect(yield* call((c) => c.tokens.list())).toEqual([])
      expect(toasts.at(-1)).toEqual(["success", 'Client token "old" revoked'])
    }))
})

describe("audit log panel", () => {
  it.scopedLive("pages newest first with before = the last id shown, until a short page", () =>
    Effect.gen(function*() {
      const { session, call } = yield* setup
      for (const name of ["a", "b", "c", "d", "e", "f", "g"]) yield* call((c) => c.incomingBlocks.create({ payload: newBlock(name) }))
      // The slice held in a store of another shape, the way a page store would compose it.
      const [page, setPage] = createStore<{ audit: AuditSlice }>({ audit: initialAudit() })
      const audit = createAuditActions(auditApi(session), page.audit, sliceSetter(setPage, "audit"), 3)
      const names = () => page.audit.entries.map((e) => e.changes["name"]?.new)

      yield* Effect.promise(audit.refresh)
      expect(names()).toEqual(["g", "f", "e"])
      expect(page.audit.exhausted).toBe(false)
      yield* Effect.promise(audit.more)
      expect(names()).toEqual(["g", "f", "e", "d", "c", "b"])
      yield* Effect.promise(audit.more)
      expect(names()).toEqual(["g", "f", "e", "d", "c", "b", "a"])
      expect(page.audit.exhausted).toBe(true)
      const ids = page.audit.entries.map((e) => e.id)
      expect(ids).toEqual([...ids].sort((x, y) => y - x))
      expect(page.audit.entries[0]).toMatchObject({ action: "incoming_block.create", target_type: "incoming_block", client_address: "127.0.0.1" })
    }))
})

describe("operations panel", () => {
  it.scopedLive("runs nothing until confirmed, then reports each operation's outcome", () =>
    Effect.gen(function*() {
      const { state, actions, call, toasts } = yield* setup
      yield* Effect.promise(actions.operations.confirm)
      expect(yield* call((c) => c.audit.list({ urlParams: { limit: 10 } }))).toEqual([])

      actions.operations.ask("reset-stats")
      actions.operations.cancel()
      expect(state.operations.confirming).toBeNull()
      expect(yield* call((c) => c.audit.list({ urlParams: { limit: 10 } }))).toEqual([])

      const outcomes: Array<string> = []
      for (const operation of ["reset-stats", "clear-cache", "vacuum", "backup"] as const) {
        actions.operations.ask(operation)
        yield* Effect.promise(actions.operations.confirm)
        expect(state.operations.confirming).toBeNull()
        expect(state.operations.last?.ok).toBe(true)
        outcomes.push(state.operations.last!.message)
      }
      expect(outcomes.slice(0, 3)).toEqual(["Statistics reset", "Cache cleared (0 entries)", "Database vacuumed"])
      expect(outcomes[3]).toMatch(/^Backup written to .*backups.*\.db \(\d+ KiB\)$/)
      expect(toasts.map(([kind]) => kind)).toEqual(["success", "success", "success", "success"])
      const actionsLogged = (yield* call((c) => c.audit.list({ urlParams: { limit: 10 } }))).map((e) => e.action)
      expect(actionsLogged).toEqual(expect.arrayContaining(["stats.reset", "operations.cache_clear", "operations.db_vacuum"]))
    }))
})
