/**
 * Run history (newest first, from SQLite) and the side-by-side comparison of two runs: every report
 * figure with its relative change (the engine's compareReports, as `loadtest compare` prints it) and the
 * charts of both runs overlaid on the same time axis.
 */
import { type Component, createMemo, createSignal, For, Show } from "solid-js"
import { compareReports } from "../../../../packages/loadgen/src/Compare.js"
import { Button } from "../ui/index.js"
import { Chart } from "./Chart.js"
import { chartSpecs } from "./Dashboard.js"
import { format, percent } from "./metrics.js"
import type { ProducerStore } from "./store.js"
import type { LivePoint } from "./types.js"

export const History: Component<{ readonly store: ProducerStore }> = (props) => {
  const [picked, setPicked] = createSignal<ReadonlyArray<number>>([])
  const toggle = (id: number, on: boolean) =>
    setPicked((ids) => (on ? [...ids.filter((x) => x !== id), id].slice(-2) : ids.filter((x) => x !== id)))

  return (
    <section class="lp-history" aria-label="History">
      <header class="lp-section-header">
        <h2>History</h2>
        <Button size="small" onClick={() => void props.store.refreshHistory()}>Refresh history</Button>
        <Button
          size="small"
          variant="primary"
          disabled={picked().length !== 2}
          onClick={() => props.store.setCompare([picked()[0]!, picked()[1]!])}
        >
          Compare runs
        </Button>
      </header>
      <table class="lp-table">
        <thead>
          <tr>
            <th scope="col">Compare</th><th scope="col">Run</th><th scope="col">Card</th><th scope="col">Status</th><th scope="col">Started</th>
            <th scope="col">Done</th><th scope="col">Failed</th><th scope="col">req/s</th><th scope="col">tok/s</th><th scope="col">TTFT p50</th><th scope="col" />
          </tr>
        </thead>
        <tbody>
          <For each={props.store.state.history}>
            {(run) => (
              <tr>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Compare run ${run.id}`}
                    checked={picked().includes(run.id)}
                    onChange={(event) => toggle(run.id, event.currentTarget.checked)}
                  />
                </td>
                <td class="lp-num">{run.id}</td>
                <td>{run.label ?? "-"}</td>
                <td><span class={`lp-status lp-status--${run.status}`}>{run.status}</span></td>
                <td>{new Date(run.started_at).toLocaleString()}</td>
                <td class="lp-num">{run.figures?.completed ?? "-"}</td>
                <td class="lp-num">{run.figures?.failed ?? "-"}</td>
                <td class="lp-num">{format(run.figures?.request_throughput ?? null)}</td>
                <td class="lp-num">{format(run.figures?.output_throughput ?? null)}</td>
                <td class="lp-num">{format(run.figures?.median_ttft_ms ?? null, "ms")}</td>
                <td>
                  <Button size="small" onClick={() => props.store.selectRun(run.id)}>Show run {run.id}</Button>{" "}
                  <Button size="small" variant="ghost" disabled={run.status === "running"} onClick={() => void props.store.deleteRun(run.id)}>
                    Delete run {run.id}
                  </Button>
                </td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
      <Show when={props.store.state.compare}>
        {(pair) => <Comparison store={props.store} a={pair()[0]} b={pair()[1]} />}
      </Show>
    </section>
  )
}

/** Two series on one axis: x = the second of the run, 1, 2, ... */
const overlay = (a: ReadonlyArray<LivePoint>, b: ReadonlyArray<LivePoint>, pick: (p: LivePoint) => number | null) => {
  const n = Math.max(a.length, b.length)
  const xs = Array.from({ length: n }, (_, i) => i + 1)
  return [xs, xs.map((_, i) => (a[i] === undefined ? null : pick(a[i]!))), xs.map((_, i) => (b[i] === undefined ? null : pick(b[i]!)))]
}

const Comparison: Component<{ readonly store: ProducerStore; readonly a: number; readonly b: number }> = (props) => {
  const runA = () => props.store.state.runs[props.a]
  const runB = () => props.store.state.runs[props.b]
  const rows = createMemo(() => {
    const a = runA()?.report
    const b = runB()?.report
    return a == null || b == null ? [] : compareReports(a, b)
  })
  return (
    <section class="lp-compare" aria-label="Comparison">
      <header class="lp-section-header">
        <h3>Run {props.a} (A) vs run {props.b} (B)</h3>
        <Button size="small" onClick={() => props.store.setCompare(null)}>Close comparison</Button>
      </header>
      <div class="lp-charts">
        <For each={chartSpecs.slice(0, 3)}>
          {(spec) => (
            <Chart
              title={`${spec.title}: ${spec.series[0]!.label}`}
              unit={spec.unit}
              series={[{ label: `A (${props.a})`, color: "#5b5bd6" }, { label: `B (${props.b})`, color: "#e5484d", dash: [6, 3] }]}
              data={() => overlay(runA()?.points ?? [], runB()?.points ?? [], (p) => spec.series[0]!.pick(p, 0, []))}
            />
          )}
        </For>
      </div>
      <table class="lp-table" aria-label="Compared figures">
        <thead><tr><th scope="col">Figure</th><th scope="col">A</th><th scope="col">B</th><th scope="col">Change</th></tr></thead>
        <tbody>
          <For each={rows()}>
            {(row) => (
              <tr>
                <th scope="row"><code>{row.figure}</code></th>
                <td class="lp-num">{format(row.a)}</td>
                <td class="lp-num">{format(row.b)}</td>
                <td class="lp-num">{percent(row.change)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </section>
  )
}
