/**
 * The host state @xyflow/system works on: the node lookup it reads and mutates in place, the pan/zoom
 * instance, the viewport transform, the container's size and the connection being drawn. Our Solid
 * store stays the source of truth for nodes; this lookup mirrors it (positions, selection) plus what
 * only the DOM knows (sizes and port positions, measured by one ResizeObserver).
 */
import {
  adoptUserNodes,
  fitViewport,
  type ConnectionState,
  infiniteExtent,
  type InternalNodeBase,
  type NodeBase,
  panBy as corePanBy,
  type PanZoomInstance,
  type Transform,
  updateNodeInternals
} from "@xyflow/system"
import { batch, createContext, createSignal, useContext } from "solid-js"

/** Class prefix the core looks for (`lb-flow__handle`, `lb-flow__node`, ...), and the id in `data-id`. */
export const LIB = "lb"
export const FLOW_ID = "lb"
export const MIN_ZOOM = 0.2
export const MAX_ZOOM = 2
export const GRID = 16

export type FlowNode = NodeBase<Record<string, never>>
export type InternalNode = InternalNodeBase<FlowNode>

export interface NodePlacement {
  readonly key: string
  readonly x: number
  readonly y: number
  readonly selected: boolean
}

export const createFlow = () => {
  const nodeLookup = new Map<string, InternalNode>()
  const parentLookup = new Map<string, Map<string, InternalNode>>()
  const measured = new Map<string, { width: number; height: number }>()
  const elements = new Map<string, HTMLElement>()
  const [transform, setTransform] = createSignal<Transform>([0, 0, 1])
  const [size, setSize] = createSignal({ width: 0, height: 0 })
  /** Bumped whenever the lookup changed, so what reads it (wires, minimap) recomputes. */
  const [version, setVersion] = createSignal(0)
  const [connection, setConnection] = createSignal<ConnectionState<InternalNodeBase> | null>(null)
  let panZoom: PanZoomInstance | null = null
  let container: HTMLElement | null = null

  const bump = () => setVersion((v) => v + 1)

  /** Mirrors the store's nodes into the lookup (called whenever a position or the selection changes). */
  const sync = (placements: ReadonlyArray<NodePlacement>) => {
    const nodes: Array<FlowNode> = placements.map((p) => {
      const size = measured.get(p.key)
      return {
        id: p.key,
        position: { x: p.x, y: p.y },
        data: {},
        selected: p.selected,
        ...(size === undefined ? {} : { measured: size })
      }
    })
    adoptUserNodes(nodes, nodeLookup, parentLookup, { nodeOrigin: [0, 0], nodeExtent: infiniteExtent, elevateNodesOnSelect: false })
    bump()
  }

  /** Measures nodes and their ports (the one ResizeObserver calls this). */
  const measure = (keys: Iterable<string>, force = false) => {
    if (container === null) return
    const updates = new Map<string, { id: string; nodeElement: HTMLDivElement; force: boolean }>()
    for (const key of keys) {
      const element = elements.get(key)
      if (element !== undefined) updates.set(key, { id: key, nodeElement: element as HTMLDivElement, force })
    }
    const { updatedInternals } = updateNodeInternals(updates, nodeLookup, parentLookup, container, [0, 0], infiniteExtent, "basic")
    if (!updatedInternals) return
    for (const key of updates.keys()) {
      const node = nodeLookup.get(key)
      if (node?.measured.width !== undefined && node.measured.height !== undefined) {
        measured.set(key, { width: node.measured.width, height: node.measured.height })
      }
    }
    bump()
  }

  const observer =
    typeof ResizeObserver === "undefined"
      ? null
      : new ResizeObserver((entries) => {
          const keys: Array<string> = []
          for (const entry of entries) {
            const key = (entry.target as HTMLElement).dataset.id
            if (key !== undefined) keys.push(key)
          }
          measure(keys)
        })

  return {
    nodeLookup,
    transform,
    setTransform,
    size,
    setSize,
    version,
    connection,
    setConnection,
    sync,
    measure,
    panZoom: () => panZoom,
    setPanZoom: (instance: PanZoomInstance | null) => void (panZoom = instance),
    container: () => container,
    setContainer: (element: HTMLElement | null) => void (container = element),
    /** A node element appeared: watch its size (its ports are measured with it). */
    addNodeElement: (key: string, element: HTMLElement) => {
      elements.set(key, element)
      observer?.observe(element)
    },
    removeNodeElement: (key: string) => {
      const element = elements.get(key)
      if (element !== undefined) observer?.unobserve(element)
      elements.delete(key)
      measured.delete(key)
    },
    panBy: async (delta: { x: number; y: number }) =>
      corePanBy({ delta, panZoom, transform: transform(), translateExtent: infiniteExtent, width: size().width, height: size().height }),
    /** Fits every node into view (the `1` key and the Fit view button). */
    fitView: (duration = 200) =>
      panZoom === null
        ? Promise.resolve(false)
        : fitViewport(
            { nodes: nodeLookup, width: size().width, height: size().height, panZoom, minZoom: MIN_ZOOM, maxZoom: MAX_ZOOM },
            { padding: 0.15, maxZoom: 1.25, duration }
          ),
    zoomBy: (factor: number) => panZoom?.scaleBy(factor, { duration: 150 }),
    zoomTo: (zoom: number) => panZoom?.scaleTo(zoom, { duration: 150 }),
    /** The point under the canvas's centre, in flow coordinates. */
    center: () => {
      const [x, y, zoom] = transform()
      return { x: (size().width / 2 - x) / zoom, y: (size().height / 2 - y) / zoom }
    },
    dispose: () => batch(() => observer?.disconnect())
  }
}

export type Flow = ReturnType<typeof createFlow>

const FlowContext = createContext<Flow>()
export const FlowProvider = FlowContext.Provider
export const useFlow = (): Flow => {
  const flow = useContext(FlowContext)
  if (flow === undefined) throw new Error("useFlow outside the canvas")
  return flow
}
