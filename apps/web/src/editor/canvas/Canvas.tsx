/**
 * The canvas (`role="application"`, "Flow editor"): the pane XYPanZoom drives, the dotted background,
 * the viewport with the nodes, the wires and the wire being drawn, the box selection and the minimap.
 * Space+drag pans over nodes too; Shift+drag on the background selects with a box.
 */
import { type Component, createComputed, createSignal, For, onCleanup, onMount, Show } from "solid-js"
import { BlockNodeView } from "../nodes/BlockNodeView.js"
import { EndpointNodeView } from "../nodes/EndpointNodeView.js"
import { useEditor } from "../store/context.js"
import { blockKey, endpointKey } from "../store/keys.js"
import { Background } from "./Background.js"
import { type Box, mountBoxSelect } from "./boxSelect.js"
import { ConnectionLine } from "./ConnectionLine.js"
import { useFlow } from "./flow.js"
import { Minimap } from "./Minimap.js"
import { mountPanZoom } from "./panZoom.js"
import { Wire } from "./Wire.js"

export const Canvas: Component<{ readonly onReady?: () => void }> = (props) => {
  const [state, actions] = useEditor()
  const flow = useFlow()
  let container!: HTMLDivElement
  let pane!: HTMLDivElement
  const [ready, setReady] = createSignal(false)
  const [spaceHeld, setSpaceHeld] = createSignal(false)
  const [box, setBox] = createSignal<() => Box | null>(() => null)

  // the core's lookup follows the store: positions and selection
  createComputed(() => {
    const selected = new Set(state.selection.nodes)
    flow.sync([
      ...state.blocks.map((b) => ({ key: blockKey(b.id), x: b.pos_x, y: b.pos_y, selected: selected.has(blockKey(b.id)) })),
      ...state.endpoints.map((e) => ({ key: endpointKey(e.id), x: e.pos_x, y: e.pos_y, selected: selected.has(endpointKey(e.id)) }))
    ])
  })

  onMount(() => {
    flow.setContainer(container)
    const resize = new ResizeObserver(([entry]) => {
      if (entry !== undefined) flow.setSize({ width: entry.contentRect.width, height: entry.contentRect.height })
    })
    resize.observe(container)
    const bounds = container.getBoundingClientRect()
    flow.setSize({ width: bounds.width, height: bounds.height })
    mountPanZoom(pane, flow, { spaceHeld, selecting: () => box()() !== null })
    setBox(() => mountBoxSelect(container, flow, actions))
    const keyDown = (event: KeyboardEvent) => {
      if (event.code === "Space" && !(event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement)) {
        if (container.contains(document.activeElement) || document.activeElement === document.body) setSpaceHeld(true)
      }
    }
    const keyUp = (event: KeyboardEvent) => {
      if (event.code === "Space") setSpaceHeld(false)
    }
    window.addEventListener("keydown", keyDown)
    window.addEventListener("keyup", keyUp)
    onCleanup(() => {
      resize.disconnect()
      window.removeEventListener("keydown", keyDown)
      window.removeEventListener("keyup", keyUp)
      flow.setContainer(null)
      flow.dispose()
    })
    setReady(true)
    props.onReady?.()
  })

  const endpointName = (id: string) => state.endpoints.find((e) => e.id === id)?.name ?? id
  const endpointTps = (id: string) => state.endpoints.find((e) => e.id === id)?.stats.tokens_per_second ?? 0
  const anyLive = () => state.blocks.some((b) => b.endpoint_ids.some((id) => endpointTps(id) > 0))

  return (
    <div
      ref={container}
      class="lb-flow"
      classList={{ "lb-flow--panning": spaceHeld() }}
      role="application"
      aria-label="Flow editor"
      aria-roledescription="flow editor"
      aria-describedby="lb-flow-help"
    >
      <p id="lb-flow-help" class="lb-visually-hidden">
        Tab moves through nodes and wires. Arrow keys move the focused node, Enter opens it, Delete deletes, Escape
        deselects. Enter on an output port starts a wire, Enter on an input port completes it.
      </p>
      <div
        ref={pane}
        class="lb-flow__pane"
        onClick={(event) => {
          if (event.target === pane || (event.target as Element).closest(".lb-background") !== null) actions.clearSelection()
        }}
      >
        <Background />
        <div
          class="xyflow__viewport lb-flow__viewport"
          style={{ transform: `translate(${flow.transform()[0]}px, ${flow.transform()[1]}px) scale(${flow.transform()[2]})` }}
        >
          <div class="lb-flow__nodes">
            <For each={state.blocks}>{(block) => <BlockNodeView block={block} />}</For>
            <For each={state.endpoints}>{(endpoint) => <EndpointNodeView endpoint={endpoint} />}</For>
          </div>
          <svg class="lb-flow__edges" classList={{ "lb-flow__edges--live": anyLive() }}>
            <For each={state.blocks}>
              {(block) => (
                <For each={block.endpoint_ids}>
                  {(endpointId) => (
                    <Wire
                      blockId={block.id}
                      blockName={block.name}
                      endpointId={endpointId}
                      endpointName={endpointName(endpointId)}
                      tokensPerSecond={endpointTps(endpointId)}
                    />
                  )}
                </For>
              )}
            </For>
            <ConnectionLine />
          </svg>
        </div>
        <Show when={box()()}>
          {(b) => (
            <div
              class="lb-flow__box"
              style={{ transform: `translate(${b().x}px, ${b().y}px)`, width: `${b().width}px`, height: `${b().height}px` }}
            />
          )}
        </Show>
      </div>
      <Show when={ready()}>
        <Minimap />
      </Show>
    </div>
  )
}
