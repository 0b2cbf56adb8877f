/** The dotted background: one dot per grid cell, moving and scaling with the viewport. */
import { type Component, createUniqueId } from "solid-js"
import { GRID, useFlow } from "./flow.js"

export const Background: Component = () => {
  const flow = useFlow()
  const id = `lb-dots-${createUniqueId()}`
  const gap = () => GRID * flow.transform()[2]
  return (
    <svg class="lb-background" aria-hidden="true">
      <pattern
        id={id}
        x={flow.transform()[0] % gap()}
        y={flow.transform()[1] % gap()}
        width={gap()}
        height={gap()}
        patternUnits="userSpaceOnUse"
      >
        <circle cx={gap() / 2} cy={gap() / 2} r={Math.max(0.6, flow.transform()[2])} />
      </pattern>
      <rect width="100%" height="100%" fill={`url(#${id})`} />
    </svg>
  )
}
