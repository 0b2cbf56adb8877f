/**
 * A node's port: blocks have an output on the right, endpoints an input on the left. Pressing the
 * pointer on one starts a connection through the core's XYHandle (snap radius, auto-pan, validity
 * while dragging); the keyboard wires with Enter (output, then input) and cancels with Escape.
 * The `data-*` attributes and classes are what the core looks for in the DOM.
 */
import { ConnectionMode, type Connection, Position, XYHandle } from "@xyflow/system"
import type { Component } from "solid-js"
import { useEditor } from "../store/context.js"
import { blockKey, endpointKey, parseNodeKey } from "../store/keys.js"
import { FLOW_ID, LIB, useFlow } from "./flow.js"

export interface PortProps {
  /** "source" = a block's output, "target" = an endpoint's input. */
  readonly type: "source" | "target"
  /** The block's or endpoint's id. */
  readonly id: string
  /** The block's or endpoint's name, for the accessible name. */
  readonly name: string
}

/** A wire goes from a block to an endpoint, once. */
export const useWireRules = () => {
  const [state] = useEditor()
  return (connection: Pick<Connection, "source" | "target">) => {
    const source = parseNodeKey(connection.source)
    const target = parseNodeKey(connection.target)
    if (source.kind !== "block" || target.kind !== "endpoint") return false
    const block = state.blocks.find((b) => b.id === source.id)
    return block !== undefined && !block.endpoint_ids.includes(target.id)
  }
}

export const Port: Component<PortProps> = (props) => {
  const [state, actions] = useEditor()
  const flow = useFlow()
  const isValidConnection = useWireRules()
  const key = () => (props.type === "source" ? blockKey(props.id) : endpointKey(props.id))

  const onPointerDown = (event: MouseEvent | TouchEvent) => {
    if ("button" in event && event.button !== 0) return
    XYHandle.onPointerDown(event, {
      autoPanOnConnect: true,
      connectionMode: ConnectionMode.Strict,
      connectionRadius: 30,
      domNode: flow.container() as HTMLDivElement | null,
      handleId: null,
      nodeId: key(),
      isTarget: props.type === "target",
      nodeLookup: flow.nodeLookup,
      lib: LIB,
      flowId: FLOW_ID,
      updateConnection: (connection) => flow.setConnection(() => connection),
      panBy: flow.panBy,
      cancelConnection: () => flow.setConnection(null),
      onConnect: (connection) => {
        void actions.connect(parseNodeKey(connection.source).id, parseNodeKey(connection.target).id)
      },
      isValidConnection,
      getTransform: () => flow.transform(),
      getFromHandle: () => {
        const connection = flow.connection()
        return connection?.inProgress === true ? connection.fromHandle : null
      },
      handleDomNode: event.currentTarget as Element
    })
  }

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault()
      event.stopPropagation()
      if (props.type === "source") actions.startWiring(state.wiringFrom === props.id ? null : props.id)
      else if (state.wiringFrom !== null) {
        const from = state.wiringFrom
        actions.startWiring(null)
        void actions.connect(from, props.id)
      }
    } else if (event.key === "Escape" && state.wiringFrom !== null) {
      event.stopPropagation()
      actions.startWiring(null)
    }
  }

  const label = () => (props.type === "source" ? `Output of ${props.name}` : `Input of ${props.name}`)
  const armed = () => props.type === "source" && state.wiringFrom === props.id
  const candidate = () =>
    props.type === "target" &&
    state.wiringFrom !== null &&
    isValidConnection({ source: blockKey(state.wiringFrom), target: key() })

  return (
    <button
      type="button"
      class={`${LIB}-flow__handle lb-port nodrag nopan ${props.type} connectable connectablestart connectableend`}
      classList={{ "lb-port--armed": armed(), "lb-port--candidate": candidate() }}
      data-nodeid={key()}
      data-handlepos={props.type === "source" ? Position.Right : Position.Left}
      data-id={`${FLOW_ID}-${key()}-null-${props.type}`}
      aria-label={label()}
      aria-pressed={props.type === "source" ? armed() : undefined}
      title={props.type === "source" ? "Drag to an endpoint's input, or press Enter and then Enter on an input" : undefined}
      onMouseDown={onPointerDown}
      onTouchStart={onPointerDown}
      onKeyDown={onKeyDown}
    />
  )
}
