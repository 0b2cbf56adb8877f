/**
 * The request log of a run: every stored request in a virtualized list (@tanstack/solid-virtual: only
 * the visible rows exist in the DOM), filtered by status and endpoint; a row opens its timings.
 */
import { createVirtualizer } from "@tanstack/solid-virtual"
import { type Component, createMemo, createSignal, For, Show } from "solid-js"
import { Button, Dialog, Select } from "../ui/index.js"
import { format } from "./metrics.js"
import type { RequestRecord } from "./types.js"

/** The row height of producer.css (.lp-log__item). */
const ROW_HEIGHT = 28

type StatusFilter = "all" | "ok" | "errors"

export const RequestLog: Component<{ readonly records: ReadonlyArray<RequestRecord> }> = (props) => {
  const [status, setStatus] = createSignal<StatusFilter>("all")
  const [endpoint, setEndpoint] = createSignal("")
  const [open, setOpen] = createSignal<RequestRecord | null>(null)
  let scroller!: HTMLDivElement

  const endpoints = createMemo(() => [...new Set(props.records.map((r) => r.endpoint ?? "(none)"))].sort())
  const rows = createMemo(() =>
    props.records.filter((r) =>
      (status() === "all" || (status() === "ok") === r.ok) && (endpoint() === "" || (r.endpoint ?? "(none)") === endpoint())
    )
  )
  const virtualizer = createVirtualizer({
    get count() {
      return rows().length
    },
    getScrollElement: () => scroller,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10
  })
  const start0 = createMemo(() => props.records[0]?.start_time ?? 0)

  return (
    <div class="lp-log">
      <div class="lp-log__filters">
        <Select<StatusFilter>
          label="Status filter"
          value={status()}
          options={[{ value: "all", label: "all" }, { value: "ok", label: "ok" }, { value: "errors", label: "errors" }]}
          onValue={setStatus}
        />
        <Select
          label="Endpoint filter"
          value={endpoint()}
          options={[{ value: "", label: "all endpoints" }, ...endpoints().map((e) => ({ value: e, label: e }))]}
          onValue={setEndpoint}
        />
        <span class="lp-muted">{rows().length} of {props.records.length} requests</span>
      </div>
      <div class="lp-log__head lp-log__row" aria-hidden="true">
        <span>#</span><span>start (s)</span><span>status</span><span>TTFT</span><span>E2EL</span><span>tokens</span><span>endpoint</span><span>error</span>
      </div>
      <div ref={scroller} class="lp-log__scroll" role="list" aria-label="Requests">
        <div class="lp-log__space" style={{ height: `${virtualizer.getTotalSize()}px` }}>
          <For each={virtualizer.getVirtualItems()}>
            {(item) => {
              const record = () => rows()[item.index]!
              return (
                <button
                  type="button"
                  role="listitem"
                  class={`lp-log__row lp-log__item ${record().ok ? "" : "lp-log__row--error"}`}
                  style={{ transform: `translateY(${item.start}px)` }}
                  onClick={() => setOpen(record())}
                >
                  <span>{item.index + 1}</span>
                  <span>{format(record().start_time - start0())}</span>
                  <span>{record().status}</span>
                  <span>{format(record().ttft_ms, "ms")}</span>
                  <span>{format(record().e2el_ms, "ms")}</span>
                  <span>{record().output_tokens}{record().estimated ? "*" : ""}</span>
                  <span>{record().endpoint ?? "-"}</span>
                  <span class="lp-ellipsis">{record().error ?? ""}</span>
                </button>
              )
            }}
          </For>
        </div>
      </div>
      <Dialog open={open() !== null} title="Request timings" onClose={() => setOpen(null)} actions={<Button onClick={() => setOpen(null)}>Close</Button>}>
        <Show when={open()}>
          {(r) => (
            <dl class="lp-timings">
              <dt>Request id</dt><dd>{r().request_id}</dd>
              <dt>Status</dt><dd>{r().status} {r().ok ? "ok" : "failed"}</dd>
              <dt>Client queue</dt><dd>{format(r().client_queue_ms, "ms")}</dd>
              <dt>TTFT</dt><dd>{format(r().ttft_ms, "ms")}</dd>
              <dt>TPOT</dt><dd>{format(r().tpot_ms, "ms")}</dd>
              <dt>E2EL</dt><dd>{format(r().e2el_ms, "ms")}</dd>
              <dt>ITL (chunks)</dt><dd>{r().itls_ms.length} gaps, max {format(r().itls_ms.length === 0 ? null : Math.max(...r().itls_ms), "ms")}</dd>
              <dt>Tokens in / out</dt><dd>{r().input_tokens} / {r().output_tokens}{r().estimated ? " (estimated: no usage)" : ""}</dd>
              <dt>Endpoint</dt><dd>{r().endpoint ?? "-"}</dd>
              <dt>Error</dt><dd>{r().error ?? "-"}</dd>
            </dl>
          )}
        </Show>
      </Dialog>
    </div>
  )
}
