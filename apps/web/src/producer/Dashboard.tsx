/**
 * The dashboard of the selected run: live charts of its one-second series, then (once it has ended) the
 * report's summary with vLLM's names, the per-endpoint breakdown, the client-saturation warning, the
 * request log and the event log, with exports.
 */
import { type Component, createEffect, createMemo, For, Show } from "solid-js"
import { Button } from "../ui/index.js"
import { Chart } from "./Chart.js"
import { download, toCsv } from "./download.js"
import { figures, format } from "./metrics.js"
import { RequestLog } from "./RequestLog.js"
import type { ProducerSession } from "./session.js"
import type { ProducerStore, RunView } from "./store.js"
import type { LivePoint } from "./types.js"

const COLORS = { a: "#5b5bd6", b: "#e5484d", c: "#30a46c", d: "#f59e0b" }

/** Columns of a series for uPlot: x = t, then one array per figure. */
export const columns = (points: ReadonlyArray<LivePoint>, pick: ReadonlyArray<(p: LivePoint, i: number) => number | null>) => [
  points.map((p) => p.t),
  ...pick.map((f) => points.map((p, i) => f(p, i)))
]

export const chartSpecs: ReadonlyArray<{
  readonly title: string
  readonly unit: string
  readonly series: ReadonlyArray<{ readonly label: string; readonly pick: (p: LivePoint, i: number, all: ReadonlyArray<LivePoint>) => number | null }>
}> = [
  { title: "Requests", unit: "req/s", series: [{ label: "req/s", pick: (p) => p.request_throughput }] },
  { title: "Output tokens", unit: "tok/s", series: [{ label: "tok/s", pick: (p) => p.output_throughput }] },
  { title: "TTFT", unit: "ms", series: [{ label: "p50", pick: (p) => p.ttft_p50_ms }, { label: "p99", pick: (p) => p.ttft_p99_ms }] },
  { title: "ITL", unit: "ms", series: [{ label: "p50", pick: (p) => p.itl_p50_ms }, { label: "p99", pick: (p) => p.itl_p99_ms }] },
  { title: "In flight", unit: "requests", series: [{ label: "in flight", pick: (p) => p.in_flight }] },
  {
    title: "Errors",
    unit: "per s",
    series: [{ label: "errors", pick: (p, i, all) => p.failed - (i === 0 ? 0 : all[i - 1]!.failed) }]
  }
]

const palette = [COLORS.a, COLORS.b, COLORS.c, COLORS.d]

export const Dashboard: Component<{ readonly store: ProducerStore; readonly session: ProducerSession }> = (props) => {
  const run = (): RunView | undefined => {
    const id = props.store.state.selectedRunId
    return id === null ? undefined : props.store.state.runs[id]
  }
  createEffect(() => {
    const r = run()
    if (r !== undefined && r.status !== "running" && r.requests === null) void props.store.loadRequests(r.id).catch(() => undefined)
  })

  return (
    <section class="lp-dashboard" aria-label="Dashboard">
      <Show when={run()} fallback={<p class="lp-muted">Start a card, or pick a run in the history, to see its dashboard.</p>}>
        {(r) => <RunDashboard run={r()} store={props.store} session={props.session} />}
      </Show>
    </section>
  )
}

const RunDashboard: Component<{ readonly run: RunView; readonly store: ProducerStore; readonly session: ProducerSession }> = (props) => {
  const report = () => props.run.report
  const endpoints = createMemo(() => Object.entries(report()?.endpoints ?? {}).sort((a, b) => b[1].requests - a[1].requests))
  const exportEvents = () =>
    download(
      `run-${props.run.id}-events.csv`,
      "text/csv",
      toCsv([["time", "level", "message"], ...props.run.events.map((e) => [e.time, e.level, e.message])])
    )
  const exportCsv = async () => {
    const response = await fetch(`/api/runs/${props.run.id}/requests.csv`, { headers: props.session.headers() })
    download(`run-${props.run.id}-requests.csv`, "text/csv", await response.text())
  }

  return (
    <>
      <header class="lp-dashboard__header">
        <h2>Run {props.run.id}{props.run.label === null ? "" : ` · ${props.run.label}`}</h2>
        <span class={`lp-status lp-status--${props.run.status}`}>{props.run.status}</span>
        <span class="lp-grow" />
        <Button size="small" disabled={report() === null} onClick={() => download(`run-${props.run.id}.json`, "application/json", JSON.stringify(report(), null, 2))}>
          Download report JSON
        </Button>
        <Button size="small" onClick={() => void exportCsv()}>Download requests CSV</Button>
        <Button size="small" onClick={exportEvents}>Download events CSV</Button>
      </header>

      <Show when={report()?.self_check.saturated}>
        <p class="lp-warning" role="alert">
          The client was saturated (event-loop delay p99 {format(report()!.self_check.event_loop_delay_p99_ms, "ms")}, dispatch lag p99{" "}
          {format(report()!.self_check.dispatch_lag_p99_ms, "ms")}): these figures are partly the load producer's own delay:{" "}
          {report()!.self_check.affected.join(", ")}. {report()!.self_check.notes.join(" ")}
        </p>
      </Show>

      <div class="lp-charts">
        <For each={chartSpecs}>
          {(spec) => (
            <Chart
              title={spec.title}
              unit={spec.unit}
              series={spec.series.map((s, i) => ({ label: s.label, color: palette[i]! }))}
              data={() => {
                const points = props.run.points
                return columns(points, spec.series.map((s) => (p: LivePoint, i: number) => s.pick(p, i, points)))
              }}
            />
          )}
        </For>
      </div>

      <Show when={report()}>
        {(rep) => (
          <div class="lp-tables">
            <table class="lp-table" aria-label="Summary">
              <caption>Summary (vLLM's names)</caption>
              <thead><tr><th scope="col">Figure</th><th scope="col">Value</th><th scope="col">Meaning</th></tr></thead>
              <tbody>
                <For each={figures}>
                  {(f) => (
                    <tr>
                      <th scope="row"><code>{f.key}</code></th>
                      <td class="lp-num">{format((rep() as unknown as Record<string, unknown>)[f.key], f.unit)}</td>
                      <td class="lp-muted">{f.explain}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
            <table class="lp-table" aria-label="Endpoints">
              <caption>Per endpoint (X-LB-Endpoint)</caption>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th><th scope="col">Requests</th><th scope="col">Share of requests</th>
                  <th scope="col">Share of output tokens</th><th scope="col">TTFT p50</th><th scope="col">TTFT p99</th><th scope="col">Errors</th>
                </tr>
              </thead>
              <tbody>
                <For each={endpoints()}>
                  {([name, e]) => (
                    <tr>
                      <th scope="row">{name}</th>
                      <td class="lp-num">{e.requests}</td>
                      <td class="lp-num">{format((e.requests / Math.max(1, rep().completed + rep().failed)) * 100, "%")}</td>
                      <td class="lp-num">{format(e.output_token_share * 100, "%")}</td>
                      <td class="lp-num">{format(e.ttft_p50_ms, "ms")}</td>
                      <td class="lp-num">{format(e.ttft_p99_ms, "ms")}</td>
                      <td class="lp-num">{e.errors}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Show>

      <div class="lp-logs">
        <section aria-label="Request log">
          <header class="lp-section-header">
            <h3>Request log</h3>
            <Button size="small" onClick={() => void props.store.loadRequests(props.run.id)}>Refresh requests</Button>
          </header>
          <Show when={props.run.requests} fallback={<p class="lp-muted">Shown when the run ends (or Refresh requests).</p>}>
            {(records) => <RequestLog records={records()} />}
          </Show>
        </section>
        <section aria-label="Event log">
          <header class="lp-section-header"><h3>Event log</h3></header>
          <ol class="lp-events">
            <For each={props.run.events}>
              {(e) => (
                <li class={`lp-event lp-event--${e.level}`}>
                  <time>{e.time.slice(11, 19)}</time> <span>{e.level}</span> {e.message}
                </li>
              )}
            </For>
          </ol>
        </section>
      </div>
    </>
  )
}
