/**
 * The toolbar piece the editor places: the buttons `Client tokens`, `Audit log` and `Operations`,
 * each opening its side panel (one at a time; the button shows it is open with aria-expanded).
 */
import { type Component, createSignal, For, onCleanup } from "solid-js"
import type { AdminSession } from "../../api/index.js"
import { Button, Panel, toast } from "../../ui/index.js"
import { AuditPanel } from "./AuditPanel.js"
import { OperationsPanel } from "./OperationsPanel.js"
import "./panels.css"
import type { Notify } from "./slice.js"
import { createPanelsStore, type PanelId, panelsApis, type PanelsStore } from "./store.js"
import { TokensPanel } from "./TokensPanel.js"

const TITLES: Readonly<Record<PanelId, string>> = { tokens: "Client tokens", audit: "Audit log", operations: "Operations" }
const ORDER: ReadonlyArray<PanelId> = ["tokens", "audit", "operations"]

export interface PanelButtonsProps {
  readonly session: AdminSession
  /** Defaults to the page's toasts. */
  readonly notify?: Notify
  /** A store made elsewhere (e.g. to open a panel from a keyboard shortcut); else one of its own. */
  readonly store?: PanelsStore
}

export const PanelButtons: Component<PanelButtonsProps> = (props) => {
  const notify: Notify = (message, kind) => (props.notify ?? toast)(message, kind)
  const [state, actions] = props.store ?? createPanelsStore(panelsApis(props.session), notify)

  // The drawers open below the bar that holds these buttons, so the buttons stay reachable to switch panels.
  let anchor: HTMLButtonElement | undefined
  const [top, setTop] = createSignal(0)
  const measure = () => {
    const bar = anchor?.closest("[role=toolbar], header, nav") ?? anchor?.parentElement
    setTop(bar === null || bar === undefined ? 0 : Math.max(0, Math.round(bar.getBoundingClientRect().bottom)))
  }
  globalThis.addEventListener?.("resize", measure)
  onCleanup(() => globalThis.removeEventListener?.("resize", measure))
  const toggle = (panel: PanelId) => {
    measure()
    actions.toggle(panel)
  }

  return (
    <>
      <For each={ORDER}>
        {(panel, index) => (
          <Button
            ref={(el: HTMLButtonElement) => {
              if (index() === 0) anchor = el
            }}
            variant="ghost"
            aria-expanded={state.open === panel}
            aria-haspopup="dialog"
            onClick={() => toggle(panel)}
          >
            {TITLES[panel]}
          </Button>
        )}
      </For>
      <Panel open={state.open === "tokens"} title={TITLES.tokens} onClose={actions.close} top={top()}>
        <TokensPanel state={state.tokens} actions={actions.tokens} notify={notify} />
      </Panel>
      <Panel open={state.open === "audit"} title={TITLES.audit} onClose={actions.close} top={top()}>
        <AuditPanel state={state.audit} actions={actions.audit} />
      </Panel>
      <Panel open={state.open === "operations"} title={TITLES.operations} onClose={actions.close} top={top()}>
        <OperationsPanel state={state.operations} actions={actions.operations} />
      </Panel>
    </>
  )
}
