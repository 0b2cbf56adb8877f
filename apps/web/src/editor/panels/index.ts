/**
 * The editor's side panels. The page places `<PanelButtons session={session} />` in its toolbar; the
 * slices and action factories are exported for a page store that wants to hold them itself.
 */
export { type AuditActions, type AuditApi, auditApi, type AuditSlice, createAuditActions, initialAudit } from "./audit.js"
export { AuditPanel } from "./AuditPanel.js"
export {
  createOperationsActions,
  initialOperations,
  type Operation,
  OPERATIONS,
  type OperationsActions,
  type OperationsApi,
  operationsApi,
  type OperationsSlice
} from "./operations.js"
export { OperationsPanel } from "./OperationsPanel.js"
export { PanelButtons, type PanelButtonsProps } from "./PanelButtons.js"
export { type Notify, sliceSetter } from "./slice.js"
export { createPanelsStore, type PanelId, panelsApis, type PanelsApis, type PanelsState, type PanelsStore } from "./store.js"
export {
  type BlockOption,
  createTokensActions,
  initialTokens,
  type TokenDraft,
  type TokenField,
  type TokensActions,
  type TokensApi,
  tokensApi,
  type TokensSlice
} from "./tokens.js"
export { TokensPanel } from "./TokensPanel.js"
