/**
 * The minimap: every node as a rectangle, the visible part of the canvas left clear under a mask.
 * Panning and zooming on it goes through the core's XYMinimap.
 */
import { getBoundsOfRects, getInternalNodesBounds, XYMinimap } from "@xyflow/system"
import { type Component, createEffect, createMemo, For, onCleanup, onMount } from "solid-js"
import { useEditor } from "../store/context.js"
import { useFlow } from "./flow.js"

const WIDTH = 200
const HEIGHT = 140

export const Minimap: Component = () => {
  const flow = useFlow()
  const [state] = useEditor()
  let svg!: SVGSVGElement

  const view = createMemo(() => {
    flow.version()
    const [x, y, zoom] = flow.transform()
    const { width, height } = flow.size()
    const visible = { x: -x / zoom, y: -y / zoom, width: width / zoom, height: height / zoom }
    const bounds = flow.nodeLookup.size > 0 ? getBoundsOfRects(getInternalNodesBounds(flow.nodeLookup), visible) : visible
    const scale = Math.max(bounds.width / WIDTH, bounds.height / HEIGHT, 1e-6)
    const viewWidth = scale * WIDTH
    const viewHeight = scale * HEIGHT
    const offset = 5 * scale
    return {
      scale,
      visible,
      box: {
        x: bounds.x - (viewWidth - bounds.width) / 2 - offset,
        y: bounds.y - (viewHeight - bounds.height) / 2 - offset,
        width: viewWidth + offset * 2,
        height: viewHeight + offset * 2
      }
    }
  })

  const rects = createMemo(() => {
    flow.version()
    return [...flow.nodeLookup.values()].map((node) => ({
      key: node.id,
      x: node.internals.positionAbsolute.x,
      y: node.internals.positionAbsolute.y,
      width: node.measured.width ?? 0,
      height: node.measured.height ?? 0,
      selected: state.selection.nodes.includes(node.id)
    }))
  })

  onMount(() => {
    const panZoom = flow.panZoom()
    if (panZoom === null) return
    const minimap = XYMinimap({ domNode: svg, panZoom, getTransform: () => flow.transform(), getViewScale: () => view().scale })
    createEffect(() => {
      const { width, height } = flow.size()
      minimap.update({
        translateExtent: [
          [-Infinity, -Infinity],
          [Infinity, Infinity]
        ],
        width,
        height,
        pannable: true,
        zoomable: true
      })
    })
    onCleanup(() => minimap.destroy())
  })

  return (
    <svg
      ref={svg}
      class="lb-minimap nowheel"
      width={WIDTH}
      height={HEIGHT}
      viewBox={`${view().box.x} ${view().box.y} ${view().box.width} ${view().box.height}`}
      role="img"
      aria-label="Minimap"
    >
      <For each={rects()}>
        {(r) => (
          <rect
            class="lb-minimap__node"
            classList={{ "lb-minimap__node--selected": r.selected, "lb-minimap__node--block": r.key.startsWith("block:") }}
            x={r.x}
            y={r.y}
            width={r.width}
            height={r.height}
            rx={4 * view().scale}
          />
        )}
      </For>
      <path
        class="lb-minimap__mask"
        fill-rule="evenodd"
        d={(() => {
          const { box, visible } = view()
          return (
            `M${box.x - 1e4},${box.y - 1e4}h${box.width + 2e4}v${box.height + 2e4}h${-box.width - 2e4}z` +
            `M${visible.x},${visible.y}h${visible.width}v${visible.height}h${-visible.width}z`
          )
        })()}
      />
    </svg>
  )
}
