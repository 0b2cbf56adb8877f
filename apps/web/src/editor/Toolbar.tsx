/** The editor's toolbar: create, undo/redo, zoom and fit, snap, the global routing mode, the panels, theme, sign out. */
import type { Component } from "solid-js"
import type { AdminSession } from "../api/index.js"
import { Button, Select, Switch, ThemeToggle } from "../ui/index.js"
import { useFlow } from "./canvas/flow.js"
import { NEW_BLOCK, NEW_ENDPOINT } from "./Inspector.js"
import { PanelButtons } from "./panels/index.js"
import type { RoutingMode } from "./store/EditorApi.js"
import { useEditor } from "./store/context.js"

const shortcut = (mac: string, other: string) => (typeof navigator !== "undefined" && /Mac/.test(navigator.userAgent) ? mac : other)

export const Toolbar: Component<{ readonly session: AdminSession }> = (props) => {
  const [state, actions] = useEditor()
  const flow = useFlow()
  return (
    <header class="lb-toolbar" role="toolbar" aria-label="Editor">
      <span class="lb-toolbar__title">LLM Load Balancer</span>
      <div class="lb-toolbar__group">
        <Button variant="primary" size="small" onClick={() => actions.open(NEW_ENDPOINT)}>
          New endpoint
        </Button>
        <Button size="small" onClick={() => actions.open(NEW_BLOCK)}>
          New incoming block
        </Button>
      </div>
      <div class="lb-toolbar__group">
        <Button size="small" variant="ghost" disabled={state.history.undo === 0} title={shortcut("⌘Z", "Ctrl+Z")} onClick={() => void actions.undo()}>
          Undo
        </Button>
        <Button
          size="small"
          variant="ghost"
          disabled={state.history.redo === 0}
          title={shortcut("⇧⌘Z", "Shift+Ctrl+Z")}
          onClick={() => void actions.redo()}
        >
          Redo
        </Button>
      </div>
      <div class="lb-toolbar__group">
        <Button size="small" variant="ghost" aria-label="Zoom out" title="-" onClick={() => void flow.zoomBy(1 / 1.25)}>
          −
        </Button>
        <Button size="small" variant="ghost" aria-label="Zoom in" title="+" onClick={() => void flow.zoomBy(1.25)}>
          +
        </Button>
        <Button size="small" variant="ghost" title="1" onClick={() => void flow.fitView()}>
          Fit view
        </Button>
        <Switch label="Snap to grid" checked={state.snapToGrid} onValue={() => actions.toggleSnap()} />
      </div>
      <div class="lb-toolbar__group lb-toolbar__mode">
        <Select<RoutingMode>
          label="Routing mode"
          value={state.routingMode}
          options={[
            { value: "percentage", label: "percentage" },
            { value: "priority", label: "priority" },
            { value: "load", label: "load" }
          ]}
          onValue={(mode) => void actions.setRoutingMode(mode)}
        />
      </div>
      <div class="lb-toolbar__group lb-toolbar__end">
        <PanelButtons session={props.session} />
        <ThemeToggle />
        <Button size="small" variant="ghost" onClick={() => props.session.signOut()}>
          Sign out
        </Button>
      </div>
    </header>
  )
}
