/** The wire being drawn with the pointer, from the core's connection state to the pointer or the port it snapped to. */
import { getBezierPath, pointToRendererPoint } from "@xyflow/system"
import { type Component, createMemo, Show } from "solid-js"
import { useFlow } from "./flow.js"

export const ConnectionLine: Component = () => {
  const flow = useFlow()
  const line = createMemo(() => {
    const connection = flow.connection()
    if (connection === null || !connection.inProgress) return null
    // `to` is in container pixels; the line is drawn in flow coordinates like everything in the viewport
    const to = pointToRendererPoint(connection.to, flow.transform())
    const [path] = getBezierPath({
      sourceX: connection.from.x,
      sourceY: connection.from.y,
      sourcePosition: connection.fromPosition,
      targetX: to.x,
      targetY: to.y,
      targetPosition: connection.toPosition
    })
    return { path, valid: connection.isValid }
  })
  return (
    <Show when={line()}>
      {(l) => (
        <path
          class="lb-connection"
          classList={{ "lb-connection--valid": l().valid === true, "lb-connection--invalid": l().valid === false }}
          d={l().path}
        />
      )}
    </Show>
  )
}
