/**
 * A wire from a block's output to an endpoint's input: a bezier path from the core (`getEdgePosition`
 * from the measured ports, `getBezierPath`), a 24 px wide invisible hit path, thickness by the
 * endpoint's tok/s and a dash animation only while it carries traffic. Focusable; Delete removes it,
 * and so does its x button, shown on hover or focus and kept 600 ms after the pointer leaves.
 */
import { ConnectionMode, getBezierPath, getEdgePosition } from "@xyflow/system"
import { type Component, createMemo, createSignal, onCleanup, Show } from "solid-js"
import { useEditor } from "../store/context.js"
import { blockKey, endpointKey, wireKey } from "../store/keys.js"
import { LIB, useFlow } from "./flow.js"

export interface WireProps {
  readonly blockId: string
  readonly blockName: string
  readonly endpointId: string
  readonly endpointName: string
  readonly tokensPerSecond: number
}

/** Stroke width by traffic: 2 px idle, up to 8 px on a log scale. */
export const wireWidth = (tokensPerSecond: number) => 2 + Math.min(6, Math.log10(1 + Math.max(0, tokensPerSecond)) * 2)

const LINGER_MS = 600

export const Wire: Component<WireProps> = (props) => {
  const [state, actions] = useEditor()
  const flow = useFlow()
  const key = () => wireKey(props.blockId, props.endpointId)
  const geometry = createMemo(() => {
    flow.version()
    const sourceNode = flow.nodeLookup.get(blockKey(props.blockId))
    const targetNode = flow.nodeLookup.get(endpointKey(props.endpointId))
    if (sourceNode === undefined || targetNode === undefined) return null
    const position = getEdgePosition({
      id: key(),
      sourceNode,
      targetNode,
      sourceHandle: null,
      targetHandle: null,
      connectionMode: ConnectionMode.Strict
    })
    if (position === null) return null
    const [path, labelX, labelY] = getBezierPath(position)
    return { path, labelX, labelY }
  })
  const selected = () => state.selection.wire === key()
  const label = () => `${props.blockName} to ${props.endpointName}`

  // the x stays a while after the pointer leaves, so it can be reached from the wire
  const [hovered, setHovered] = createSignal(false)
  const [focused, setFocused] = createSignal(false)
  let linger: ReturnType<typeof setTimeout> | undefined
  const enter = () => {
    clearTimeout(linger)
    setHovered(true)
  }
  const leave = () => {
    clearTimeout(linger)
    linger = setTimeout(() => setHovered(false), LINGER_MS)
  }
  onCleanup(() => clearTimeout(linger))
  const remove = (event: Event) => {
    event.preventDefault()
    event.stopPropagation()
    void actions.disconnect(props.blockId, props.endpointId)
  }
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Delete" || event.key === "Backspace") remove(event)
  }

  return (
    <Show when={geometry()}>
      {(g) => (
        <g
          class={`${LIB}-flow__edge lb-wire nopan`}
          classList={{ "lb-wire--selected": selected(), "lb-wire--live": props.tokensPerSecond > 0 }}
          onMouseEnter={enter}
          onMouseLeave={leave}
          onFocusIn={() => setFocused(true)}
          onFocusOut={() => setFocused(false)}
        >
          <g
            role="button"
            tabindex="0"
            aria-label={`Wire ${label()}`}
            aria-pressed={selected()}
            onClick={(event) => {
              event.stopPropagation()
              actions.selectWire(key())
            }}
            onFocus={() => actions.selectWire(key())}
            onKeyDown={onKeyDown}
          >
            <path class="lb-wire__hit" d={g().path} />
            <path class="lb-wire__line" d={g().path} style={{ "stroke-width": `${wireWidth(props.tokensPerSecond)}px` }} />
          </g>
          <g
            class="lb-wire__delete"
            classList={{ "lb-wire__delete--shown": hovered() || focused() || selected() }}
            role="button"
            tabindex="0"
            aria-label={`Delete wire ${label()}`}
            transform={`translate(${g().labelX} ${g().labelY})`}
            onClick={remove}
            onKeyDown={(event) => (event.key === "Enter" || event.key === " " ? remove(event) : onKeyDown(event))}
          >
            <circle r="10" />
            <path d="M -4 -4 L 4 4 M 4 -4 L -4 4" />
          </g>
        </g>
      )}
    </Show>
  )
}
