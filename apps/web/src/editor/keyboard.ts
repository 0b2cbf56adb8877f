/**
 * Shortcuts for the whole page (not while typing in a field): Ctrl/Cmd+Z undo, Shift+Ctrl/Cmd+Z or
 * Ctrl+Y redo, Escape deselects (and cancels a keyboard wire, closes the inspector), and on the canvas
 * `1` fit view, `0` zoom 100 %, `+`/`-` zoom, Delete/Backspace delete the selection (these only while
 * the focus is on the canvas or nowhere, so Backspace on a form button deletes nothing).
 */
import { isInputDOMNode } from "@xyflow/system"
import { onCleanup } from "solid-js"
import type { Flow } from "./canvas/flow.js"
import type { EditorStore } from "./store/EditorStore.js"

export const mountShortcuts = (flow: Flow, store: EditorStore) => {
  const [state, actions] = store
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.defaultPrevented || isInputDOMNode(event)) return
    const command = event.ctrlKey || event.metaKey
    const key = event.key.toLowerCase()
    if (command && key === "z") {
      event.preventDefault()
      void (event.shiftKey ? actions.redo() : actions.undo())
      return
    }
    if (command && key === "y") {
      event.preventDefault()
      void actions.redo()
      return
    }
    if (command || event.altKey) return
    // The rest belongs to the canvas: not to a button in the inspector, a panel or a dialog.
    const target = event.target as Element | null
    const onCanvas = target === null || target === document.body || target.closest(".lb-flow") !== null
    if (!onCanvas && event.key !== "Escape") return
    if (target?.closest?.("[role=dialog]")) return
    switch (event.key) {
      case "Escape":
        if (state.wiringFrom !== null) actions.startWiring(null)
        else if (state.inspector !== null) actions.open(null)
        else actions.clearSelection()
        return
      case "1":
        void flow.fitView()
        return
      case "0":
        void flow.zoomTo(1)
        return
      case "+":
      case "=":
        void flow.zoomBy(1.25)
        return
      case "-":
        void flow.zoomBy(1 / 1.25)
        return
      case "Delete":
      case "Backspace":
        if (state.selection.nodes.length > 0 || state.selection.wire !== null) {
          event.preventDefault()
          void actions.deleteSelection()
        }
        return
    }
  }
  window.addEventListener("keydown", onKeyDown)
  onCleanup(() => window.removeEventListener("keydown", onKeyDown))
}
