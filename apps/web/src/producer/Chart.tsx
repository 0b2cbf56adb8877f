/**
 * A live time-series chart on uPlot: created once, fed with `setData` when its data changes (no
 * re-creation per point), resized with its container.
 */
import { type Component, createEffect, on, onCleanup, onMount, untrack } from "solid-js"
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import { useTheme } from "../ui/index.js"

export interface ChartSeries {
  readonly label: string
  readonly color: string
  readonly dash?: ReadonlyArray<number>
}

export interface ChartProps {
  readonly title: string
  readonly unit: string
  readonly series: ReadonlyArray<ChartSeries>
  /** [x (seconds), ...one array per series]; null marks a gap. */
  readonly data: () => ReadonlyArray<ReadonlyArray<number | null>>
}

const HEIGHT = 150

export const Chart: Component<ChartProps> = (props) => {
  let box!: HTMLDivElement
  let plot: uPlot | undefined
  const { theme } = useTheme()

  /** Built anew when the theme changes: uPlot draws its axes on a canvas with the colours it was given. */
  const create = () => {
    plot?.destroy()
    const style = getComputedStyle(box)
    const axis = { stroke: style.color, grid: { stroke: style.borderTopColor, width: 1 }, ticks: { stroke: style.borderTopColor, width: 1 } }
    plot = new uPlot(
      {
        width: Math.max(200, box.clientWidth),
        height: HEIGHT,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false } },
        axes: [{ ...axis, label: "s" }, { ...axis, size: 50 }],
        series: [
          { label: "t" },
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            spanGaps: false,
            ...(s.dash === undefined ? {} : { dash: [...s.dash] })
          }))
        ]
      },
      untrack(() => props.data()) as uPlot.AlignedData,
      box
    )
  }

  onMount(() => {
    const resize = new ResizeObserver(() => plot?.setSize({ width: Math.max(200, box.clientWidth), height: HEIGHT }))
    resize.observe(box)
    onCleanup(() => {
      resize.disconnect()
      plot?.destroy()
    })
  })
  createEffect(on(theme, () => queueMicrotask(create)))
  createEffect(() => {
    const data = props.data()
    plot?.setData(data as uPlot.AlignedData)
  })
  return (
    <figure class="lp-chart">
      <figcaption>{props.title} <span class="lp-muted">({props.unit})</span></figcaption>
      <div ref={box} class="lp-chart__plot" />
    </figure>
  )
}
