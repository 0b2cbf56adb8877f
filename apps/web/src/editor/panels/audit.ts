/** The audit log slice: pages of entries, newest first, fetched with `?limit=&before=<last id>`. */
import type { AuditEntry } from "@llmlb/api"
import type { SetStoreFunction } from "solid-js/store"
import type { AdminSession } from "../../api/index.js"
import { asApiError } from "./slice.js"

export const AUDIT_PAGE = 50

export interface AuditSlice {
  entries: Array<AuditEntry>
  loading: boolean
  error: string | null
  /** True once a page came back short: there is nothing older. */
  exhausted: boolean
}

export const initialAudit = (): AuditSlice => ({ entries: [], loading: false, error: null, exhausted: false })

export interface AuditApi {
  readonly page: (limit: number, before: number | undefined) => Promise<ReadonlyArray<AuditEntry>>
}

export const auditApi = (session: AdminSession): AuditApi => ({
  page: (limit, before) => session.call(session.client.audit.list({ urlParams: before === undefined ? { limit } : { limit, before } }))
})

export const createAuditActions = (api: AuditApi, state: AuditSlice, set: SetStoreFunction<AuditSlice>, pageSize = AUDIT_PAGE) => {
  const fetchPage = async (before: number | undefined, keep: ReadonlyArray<AuditEntry>) => {
    set({ loading: true, error: null })
    try {
      const page = await api.page(pageSize, before)
      set({ entries: [...keep, ...page], exhausted: page.length < pageSize })
    } catch (error) {
      set("error", asApiError(error).message)
    } finally {
      set("loading", false)
    }
  }
  return {
    /** The newest page again (what the panel shows when it opens). */
    refresh: () => fetchPage(undefined, []),
    /** The next older page, after the entries already shown. */
    more: () => {
      const last = state.entries[state.entries.length - 1]
      if (state.loading || state.exhausted || last === undefined) return Promise.resolve()
      return fetchPage(last.id, state.entries)
    }
  } as const
}

export type AuditActions = ReturnType<typeof createAuditActions>
