/**
 * Dragging a node through the core's XYDrag (threshold, snapping, multi-node drags, auto-pan at the
 * edges). Frames move the nodes in the store only; the drop commits one PATCH per moved node.
 */
import { infiniteExtent, type NodeDragItem, XYDrag } from "@xyflow/system"
import { onCleanup } from "solid-js"
import type { EditorStore, Position } from "../store/EditorStore.js"
import { type Flow, type FlowNode, GRID } from "./flow.js"

const positionsOf = (items: Map<string, NodeDragItem>) => new Map([...items].map(([key, item]) => [key, { ...item.position }]))

export const mountNodeDrag = (element: HTMLElement, key: string, flow: Flow, store: EditorStore) => {
  const [state, actions] = store
  let from = new Map<string, Position>()
  const drag = XYDrag<FlowNode>({
    getStoreItems: () => ({
      nodes: [...flow.nodeLookup.values()].map((n) => n.internals.userNode),
      nodeLookup: flow.nodeLookup,
      edges: [],
      nodeExtent: infiniteExtent,
      snapGrid: [GRID, GRID],
      snapToGrid: state.snapToGrid,
      nodeOrigin: [0, 0],
      multiSelectionActive: false,
      domNode: flow.container(),
      transform: flow.transform(),
      autoPanOnNodeDrag: true,
      nodesDraggable: true,
      selectNodesOnDrag: true,
      nodeDragThreshold: 1,
      panBy: flow.panBy,
      unselectNodesAndEdges: () => actions.clearSelection(),
      updateNodePositions: (items, dragging) => {
        if (!dragging) return
        actions.moveLocal([...items.values()].map((item) => ({ key: item.id, position: { ...item.position } })))
      }
    }),
    onNodeMouseDown: (id) => {
      if (!state.selection.nodes.includes(id)) actions.selectNode(id)
    },
    onDragStart: (_event, items) => {
      from = positionsOf(items)
    },
    onDragStop: (_event, items) => {
      const to = positionsOf(items)
      void actions.commitMoves([...to].map(([id, at]) => ({ key: id, from: from.get(id) ?? at, to: at })))
    }
  })
  drag.update({ domNode: element, nodeId: key, isSelectable: true, noDragClassName: "nodrag", nodeClickDistance: 0 })
  onCleanup(() => drag.destroy())
}
