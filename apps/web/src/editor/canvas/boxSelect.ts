/**
 * Box selection with Shift+drag on the background: the nodes the box touches become the selection
 * (the core's `getNodesInside`). Listens in the capture phase so the pane's pan never starts.
 */
import { getNodesInside } from "@xyflow/system"
import { createSignal, onCleanup } from "solid-js"
import type { EditorActions } from "../store/EditorStore.js"
import type { Flow } from "./flow.js"

export interface Box {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

export const mountBoxSelect = (container: HTMLElement, flow: Flow, actions: Pick<EditorActions, "selectNodes">) => {
  const [box, setBox] = createSignal<Box | null>(null)

  const onMouseDown = (event: MouseEvent) => {
    if (!event.shiftKey || event.button !== 0) return
    const target = event.target as Element
    if (target.closest(".lb-flow__node, .lb-flow__edge, .lb-minimap, button, input, select") !== null) return
    event.preventDefault()
    event.stopPropagation()
    const bounds = container.getBoundingClientRect()
    const start = { x: event.clientX - bounds.left, y: event.clientY - bounds.top }
    setBox({ ...start, width: 0, height: 0 })
    const move = (e: MouseEvent) => {
      const at = { x: e.clientX - bounds.left, y: e.clientY - bounds.top }
      const next = {
        x: Math.min(start.x, at.x),
        y: Math.min(start.y, at.y),
        width: Math.abs(at.x - start.x),
        height: Math.abs(at.y - start.y)
      }
      setBox(next)
      actions.selectNodes(getNodesInside(flow.nodeLookup, next, flow.transform(), true).map((n) => n.id))
    }
    const up = () => {
      setBox(null)
      window.removeEventListener("mousemove", move)
      window.removeEventListener("mouseup", up)
      // the click that ends the box would land on the pane and clear the selection just made
      const swallow = (e: MouseEvent) => e.stopPropagation()
      window.addEventListener("click", swallow, { capture: true, once: true })
      setTimeout(() => window.removeEventListener("click", swallow, { capture: true }), 0)
    }
    window.addEventListener("mousemove", move)
    window.addEventListener("mouseup", up)
  }
  container.addEventListener("mousedown", onMouseDown, { capture: true })
  onCleanup(() => container.removeEventListener("mousedown", onMouseDown, { capture: true }))
  return box
}
