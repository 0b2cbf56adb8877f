/**
 * What every node on the canvas shares: its place in the viewport, XYDrag, measuring (one
 * ResizeObserver for all), selection by click (Shift adds), the inspector on click or Enter, arrows
 * to move it (one PATCH once the keys rest), Delete to delete it, a visible focus ring.
 */
import { type JSX, onCleanup, onMount, type ParentComponent } from "solid-js"
import { GRID, LIB, useFlow } from "../canvas/flow.js"
import { mountNodeDrag } from "../canvas/nodeDrag.js"
import { useEditor } from "../store/context.js"
import type { Position } from "../store/EditorStore.js"

export interface NodeFrameProps {
  readonly nodeKey: string
  readonly label: string
  readonly x: number
  readonly y: number
  readonly dimmed: boolean
  readonly class: string
}

const ARROWS: Record<string, Position> = {
  ArrowLeft: { x: -1, y: 0 },
  ArrowRight: { x: 1, y: 0 },
  ArrowUp: { x: 0, y: -1 },
  ArrowDown: { x: 0, y: 1 }
}
const KEY_MOVE_SETTLE_MS = 400

export const NodeFrame: ParentComponent<NodeFrameProps> = (props) => {
  const store = useEditor()
  const [state, actions] = store
  const flow = useFlow()
  let element!: HTMLDivElement

  onMount(() => {
    flow.addNodeElement(props.nodeKey, element)
    mountNodeDrag(element, props.nodeKey, flow, store)
  })
  onCleanup(() => flow.removeNodeElement(props.nodeKey))

  // arrow keys: move at once, save once they rest
  let keyMoveFrom: Position | null = null
  let keyMoveTimer: ReturnType<typeof setTimeout> | undefined
  const settle = () => {
    const from = keyMoveFrom
    keyMoveFrom = null
    if (from !== null) void actions.commitMoves([{ key: props.nodeKey, from, to: { x: props.x, y: props.y } }])
  }
  onCleanup(() => {
    clearTimeout(keyMoveTimer)
    settle()
  })

  const onKeyDown: JSX.EventHandler<HTMLDivElement, KeyboardEvent> = (event) => {
    if (event.target !== element) return
    const arrow = ARROWS[event.key]
    if (arrow !== undefined) {
      event.preventDefault()
      const step = (state.snapToGrid ? GRID : GRID / 2) * (event.shiftKey ? 4 : 1)
      keyMoveFrom ??= { x: props.x, y: props.y }
      actions.moveLocal([{ key: props.nodeKey, position: { x: props.x + arrow.x * step, y: props.y + arrow.y * step } }])
      clearTimeout(keyMoveTimer)
      keyMoveTimer = setTimeout(settle, KEY_MOVE_SETTLE_MS)
    } else if (event.key === "Enter") {
      event.preventDefault()
      actions.open(props.nodeKey)
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault()
      event.stopPropagation()
      if (!state.selection.nodes.includes(props.nodeKey)) actions.selectNode(props.nodeKey)
      void actions.deleteSelection()
    }
  }

  return (
    <div
      ref={element}
      class={`${LIB}-flow__node lb-node nopan ${props.class}`}
      classList={{ "lb-node--selected": state.selection.nodes.includes(props.nodeKey), "lb-node--dimmed": props.dimmed }}
      style={{ transform: `translate(${props.x}px, ${props.y}px)` }}
      data-id={props.nodeKey}
      role="group"
      aria-label={props.label}
      tabindex="0"
      onClick={(event) => {
        if (event.shiftKey) actions.selectNode(props.nodeKey, true)
        else actions.open(props.nodeKey)
      }}
      onFocus={(event) => {
        if (event.target === element && !state.selection.nodes.includes(props.nodeKey)) actions.selectNode(props.nodeKey)
      }}
      onKeyDown={onKeyDown}
    >
      {props.children}
    </div>
  )
}
