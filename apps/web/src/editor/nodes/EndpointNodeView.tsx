/**
 * An endpoint on the canvas: its input port, name, host, routing figures, its engine's queue, running
 * requests and KV cache use (when fresh), live tok/s and req/s, cooldown, models.
 */
import { type Component, createMemo, For, Show } from "solid-js"
import { Port } from "../canvas/Port.js"
import { useEditor } from "../store/context.js"
import type { EndpointNode } from "../store/EditorStore.js"
import { endpointKey } from "../store/keys.js"
import { NodeFrame } from "./NodeFrame.js"
import { hostOf, rate, routingOf } from "./share.js"

const percent = (share: number) => `${Math.round(share * 100)}%`

export const EndpointNodeView: Component<{ readonly endpoint: EndpointNode }> = (props) => {
  const [state] = useEditor()
  const wired = createMemo(() => state.blocks.some((b) => b.endpoint_ids.includes(props.endpoint.id)))
  const routing = createMemo(() => routingOf(props.endpoint, state.endpoints, state.blocks, state.routingMode))
  const models = () => props.endpoint.models ?? []

  return (
    <NodeFrame
      nodeKey={endpointKey(props.endpoint.id)}
      label={`Endpoint ${props.endpoint.name}`}
      x={props.endpoint.pos_x}
      y={props.endpoint.pos_y}
      dimmed={!props.endpoint.enabled || !wired()}
      class="lb-node--endpoint"
    >
      <Port type="target" id={props.endpoint.id} name={props.endpoint.name} />
      <header class="lb-node__head">
        <span class="lb-node__status" classList={{ "lb-node__status--off": !props.endpoint.enabled }} aria-hidden="true" />
        <span class="lb-node__title">{props.endpoint.name}</span>
        <Show when={props.endpoint.cooldown.active}>
          <span class="lb-badge lb-badge--warning">cooldown {Math.ceil(props.endpoint.cooldown.remaining_seconds)} s</span>
        </Show>
        <Show when={!props.endpoint.enabled}>
          <span class="lb-badge">disabled</span>
        </Show>
      </header>
      <div class="lb-node__sub">{hostOf(props.endpoint.base_url)}</div>
      <Show
        when={routing().mode === "percentage"}
        fallback={
          <div class="lb-node__row">
            <span>priority {props.endpoint.priority_order}</span>
            <span>
              {props.endpoint.inflight} / {props.endpoint.max_concurrent === 0 ? "∞" : props.endpoint.max_concurrent} in flight
            </span>
          </div>
        }
      >
        <div class="lb-node__row">
          <span>quota {props.endpoint.token_quota_percent}%</span>
          <span class="lb-node__muted">
            target {percent(routing().target)} · got {percent(routing().achieved)}
          </span>
        </div>
        <div class="lb-share" aria-hidden="true">
          <div class="lb-share__achieved" style={{ width: percent(Math.min(1, routing().achieved)) }} />
          <div class="lb-share__target" style={{ left: percent(Math.min(1, routing().target)) }} />
        </div>
      </Show>
      <Show when={props.endpoint.engine}>
        {(engine) => (
          <div class="lb-node__row lb-node__muted" aria-label={`Engine of ${props.endpoint.name}`}>
            <span>{`queue ${engine().queue ?? "?"} · running ${engine().running ?? "?"}`}</span>
            <span>{engine().kv_cache_usage === null ? "KV ?" : `KV ${percent(engine().kv_cache_usage!)}`}</span>
          </div>
        )}
      </Show>
      <div class="lb-node__live">
        <span class="lb-node__figure">{`${rate(props.endpoint.stats.tokens_per_second)} tok/s`}</span>
        <span class="lb-node__figure">{`${rate(props.endpoint.stats.requests_per_second)} req/s`}</span>
      </div>
      <Show when={models().length > 0}>
        <div class="lb-node__models">
          <For each={models().slice(0, 3)}>{(model) => <span class="lb-chip">{model}</span>}</For>
          <Show when={models().length > 3}>
            <span class="lb-chip">+{models().length - 3}</span>
          </Show>
        </div>
      </Show>
    </NodeFrame>
  )
}
