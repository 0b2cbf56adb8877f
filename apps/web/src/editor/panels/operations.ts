/**
 * The operations slice: reset stats, clear the response cache, vacuum and back up the database, each
 * run only after its confirmation dialog, with the outcome shown in the panel and as a toast.
 */
import type { SetStoreFunction } from "solid-js/store"
import type { AdminSession } from "../../api/index.js"
import { asApiError, type Notify } from "./slice.js"

export type Operation = "reset-stats" | "clear-cache" | "vacuum" | "backup"

export interface OperationInfo {
  /** The button's name (browser tests and screen readers rely on it). */
  readonly label: string
  readonly description: string
  /** The confirmation dialog's question. */
  readonly confirm: string
  readonly danger: boolean
}

export const OPERATIONS: Readonly<Record<Operation, OperationInfo>> = {
  "reset-stats": {
    label: "Reset stats",
    description: "Zero every counter and rate, the stored ones and the token-share windows too.",
    confirm: "Every request and token counter and every rate goes back to zero, for all endpoints. This cannot be undone.",
    danger: true
  },
  "clear-cache": {
    label: "Clear cache",
    description: "Empty the response cache: the next identical requests go to the endpoints again.",
    confirm: "Every cached response is dropped.",
    danger: false
  },
  vacuum: {
    label: "Vacuum database",
    description: "Compact the SQLite file (VACUUM). Traffic pauses while it runs.",
    confirm: "The database is rewritten to reclaim free space; proxied requests wait until it is done.",
    danger: false
  },
  backup: {
    label: "Back up database",
    description: "Write a consistent copy of the live database into the backups folder beside it.",
    confirm: "A copy of the database is written on the balancer's disk.",
    danger: false
  }
}

export interface OperationsSlice {
  confirming: Operation | null
  running: Operation | null
  /** The outcome of the last operation, as a sentence. */
  last: { readonly operation: Operation; readonly ok: boolean; readonly message: string } | null
}

export const initialOperations = (): OperationsSlice => ({ confirming: null, running: null, last: null })

/** Each operation's call, answering the sentence that reports its outcome. */
export type OperationsApi = Readonly<Record<Operation, () => Promise<string>>>

export const operationsApi = (session: AdminSession): OperationsApi => ({
  "reset-stats": () => session.call(session.client.stats.reset()).then(() => "Statistics reset"),
  "clear-cache": () =>
    session.call(session.client.operations.clearCache()).then(({ cleared }) =>
      `Cache cleared (${cleared} ${cleared === 1 ? "entry" : "entries"})`
    ),
  vacuum: () => session.call(session.client.operations.vacuum()).then(() => "Database vacuumed"),
  backup: () =>
    session.call(session.client.operations.backup()).then(({ path, size_bytes }) =>
      `Backup written to ${path} (${(size_bytes / 1024).toFixed(0)} KiB)`
    )
})

export const createOperationsActions = (
  api: OperationsApi,
  state: OperationsSlice,
  set: SetStoreFunction<OperationsSlice>,
  notify: Notify
) => ({
  ask: (operation: Operation) => set("confirming", operation),
  cancel: () => set("confirming", null),
  /** Runs the operation being confirmed; the dialog closes when it is done. */
  confirm: async () => {
    const operation = state.confirming
    if (operation === null || state.running !== null) return
    set("running", operation)
    try {
      const message = await api[operation]()
      set("last", { operation, ok: true, message })
      notify(message, "success")
    } catch (error) {
      const message = `${OPERATIONS[operation].label} failed: ${asApiError(error).message}`
      set("last", { operation, ok: false, message })
      notify(message, "error")
    } finally {
      set({ running: null, confirming: null })
    }
  }
})

export type OperationsActions = ReturnType<typeof createOperationsActions>
