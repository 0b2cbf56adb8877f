/**
 * Pan and zoom through the core's XYPanZoom, mounted once on the pane; `update()` runs again whenever
 * an option changes (Space held, a connection being drawn, a box selection).
 */
import { PanOnScrollMode, XYPanZoom } from "@xyflow/system"
import { createEffect, onCleanup } from "solid-js"
import { type Flow, LIB, MAX_ZOOM, MIN_ZOOM } from "./flow.js"

export interface PanZoomOptions {
  readonly spaceHeld: () => boolean
  readonly selecting: () => boolean
}

export const mountPanZoom = (pane: HTMLElement, flow: Flow, options: PanZoomOptions) => {
  const instance = XYPanZoom({
    domNode: pane,
    minZoom: MIN_ZOOM,
    maxZoom: MAX_ZOOM,
    translateExtent: [
      [-Infinity, -Infinity],
      [Infinity, Infinity]
    ],
    viewport: { x: 0, y: 0, zoom: 1 },
    onDraggingChange: () => {},
    onPanZoom: (_event, viewport) => flow.setTransform([viewport.x, viewport.y, viewport.zoom])
  })
  flow.setPanZoom(instance)
  createEffect(() => {
    instance.update({
      noWheelClassName: "nowheel",
      noPanClassName: "nopan",
      preventScrolling: true,
      panActivationKeyPressed: options.spaceHeld(),
      panOnScroll: false,
      panOnDrag: true,
      panOnScrollMode: PanOnScrollMode.Free,
      panOnScrollSpeed: 0.5,
      userSelectionActive: options.selecting(),
      zoomOnPinch: true,
      zoomOnScroll: true,
      zoomOnDoubleClick: false,
      zoomActivationKeyPressed: false,
      lib: LIB,
      onTransformChange: (transform) => flow.setTransform(transform),
      connectionInProgress: flow.connection()?.inProgress === true,
      paneClickDistance: 0
    })
  })
  onCleanup(() => {
    instance.destroy()
    flow.setPanZoom(null)
  })
  return instance
}
