/** An incoming block on the canvas: its name, routing mode, wire count and output port. */
import { type Component, Show } from "solid-js"
import { Port } from "../canvas/Port.js"
import { useEditor } from "../store/context.js"
import type { BlockNode } from "../store/EditorStore.js"
import { blockKey, DEFAULT_BLOCK } from "../store/keys.js"
import { NodeFrame } from "./NodeFrame.js"

export const BlockNodeView: Component<{ readonly block: BlockNode }> = (props) => {
  const [state] = useEditor()
  const mode = () => props.block.routing_mode ?? state.routingMode
  return (
    <NodeFrame
      nodeKey={blockKey(props.block.id)}
      label={`Incoming block ${props.block.name}`}
      x={props.block.pos_x}
      y={props.block.pos_y}
      dimmed={!props.block.enabled}
      class="lb-node--block"
    >
      <header class="lb-node__head">
        <span class="lb-node__status" classList={{ "lb-node__status--off": !props.block.enabled }} aria-hidden="true" />
        <span class="lb-node__title">{props.block.name}</span>
        <Show when={!props.block.enabled}>
          <span class="lb-badge">disabled</span>
        </Show>
      </header>
      <div class="lb-node__sub">{props.block.id === DEFAULT_BLOCK ? "/v1/…" : `/v1/${props.block.name}/…`}</div>
      <div class="lb-node__row">
        <span>{mode()}</span>
        <span class="lb-node__muted">{props.block.routing_mode === null && props.block.id !== DEFAULT_BLOCK ? "global" : ""}</span>
      </div>
      <div class="lb-node__row lb-node__muted">
        {props.block.endpoint_ids.length} {props.block.endpoint_ids.length === 1 ? "wire" : "wires"}
      </div>
      <Port type="source" id={props.block.id} name={props.block.name} />
    </NodeFrame>
  )
}
