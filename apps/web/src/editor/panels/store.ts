/**
 * The panels' store: which panel is open and the three slices, each with its actions. Self-contained
 * so the editor needs only a session to place the panels; the slices and factories are exported for
 * a page that prefers to hold them in its own store (see slice.ts).
 */
import { createStore } from "solid-js/store"
import type { AdminSession } from "../../api/index.js"
import { type AuditSlice, auditApi, createAuditActions, initialAudit } from "./audit.js"
import { createOperationsActions, initialOperations, operationsApi, type OperationsSlice } from "./operations.js"
import { type Notify, sliceSetter } from "./slice.js"
import { createTokensActions, initialTokens, tokensApi, type TokensSlice } from "./tokens.js"

export type PanelId = "tokens" | "audit" | "operations"

export interface PanelsState {
  open: PanelId | null
  tokens: TokensSlice
  audit: AuditSlice
  operations: OperationsSlice
}

export interface PanelsApis {
  readonly tokens: Parameters<typeof createTokensActions>[0]
  readonly audit: Parameters<typeof createAuditActions>[0]
  readonly operations: Parameters<typeof createOperationsActions>[0]
}

export const panelsApis = (session: AdminSession): PanelsApis => ({
  tokens: tokensApi(session),
  audit: auditApi(session),
  operations: operationsApi(session)
})

export const createPanelsStore = (apis: PanelsApis, notify: Notify) => {
  const [state, setState] = createStore<PanelsState>({
    open: null,
    tokens: initialTokens(),
    audit: initialAudit(),
    operations: initialOperations()
  })
  const tokens = createTokensActions(apis.tokens, state.tokens, sliceSetter(setState, "tokens"), notify)
  const audit = createAuditActions(apis.audit, state.audit, sliceSetter(setState, "audit"))
  const operations = createOperationsActions(apis.operations, state.operations, sliceSetter(setState, "operations"), notify)

  /** Opening a panel loads what it shows, fresh. */
  const open = (panel: PanelId | null) => {
    setState("open", panel)
    if (panel === "tokens") void tokens.load()
    if (panel === "audit") void audit.refresh()
  }
  const actions = {
    open,
    toggle: (panel: PanelId) => open(state.open === panel ? null : panel),
    close: () => setState("open", null),
    tokens,
    audit,
    operations
  } as const
  return [state, actions] as const
}

export type PanelsStore = ReturnType<typeof createPanelsStore>
