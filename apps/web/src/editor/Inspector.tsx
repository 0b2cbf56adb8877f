/**
 * The inspector: the side panel for the node that is open (or the create forms). Saving sends only
 * what changed; the store applies it at once and rolls back on a refusal, and the server's 400
 * message shows beside the field it names. The API key is write-only: the field shows its preview as a
 * placeholder, a new value replaces it, "Clear API key" removes it.
 */
import { type Component, createEffect, createMemo, createSignal, on, Show } from "solid-js"
import { Button, NumberField, Select, Switch, TextField } from "../ui/index.js"
import { useFlow } from "./canvas/flow.js"
import { GRID } from "./canvas/flow.js"
import type { EndpointChanges, EndpointInput, RoutingMode } from "./store/EditorApi.js"
import { useEditor } from "./store/context.js"
import type { BlockNode, EndpointNode } from "./store/EditorStore.js"
import { DEFAULT_BLOCK, endpointKey, blockKey, parseNodeKey } from "./store/keys.js"

export const NEW_ENDPOINT = "new-endpoint"
export const NEW_BLOCK = "new-block"

interface EndpointDraft {
  name: string
  base_url: string
  api_key: string
  clear_key: boolean
  enabled: boolean
  token_quota_percent: number | null
  priority_order: number | null
  max_concurrent: number | null
  timeout: number | null
  verify_tls: boolean
  /** "" = the base URL's origin + /metrics */
  metrics_url: string
}

const draftOf = (e: EndpointNode | null): EndpointDraft => ({
  name: e?.name ?? "",
  base_url: e?.base_url ?? "",
  api_key: "",
  clear_key: false,
  enabled: e?.enabled ?? true,
  token_quota_percent: e?.token_quota_percent ?? 0,
  priority_order: e?.priority_order ?? 0,
  max_concurrent: e?.max_concurrent ?? 0,
  timeout: e?.timeout ?? null,
  verify_tls: e?.verify_tls ?? true,
  metrics_url: e?.metrics_url ?? ""
})

/** The changes a draft makes to an endpoint (every field for a new one). */
const changesOf = (draft: EndpointDraft, current: EndpointNode | null): EndpointChanges => {
  const wanted: Record<string, unknown> = {
    name: draft.name,
    base_url: draft.base_url,
    enabled: draft.enabled,
    token_quota_percent: draft.token_quota_percent ?? 0,
    priority_order: draft.priority_order ?? 0,
    max_concurrent: draft.max_concurrent ?? 0,
    timeout: draft.timeout,
    verify_tls: draft.verify_tls,
    metrics_url: draft.metrics_url.trim() === "" ? null : draft.metrics_url.trim()
  }
  if (draft.api_key !== "") wanted.api_key = draft.api_key
  else if (draft.clear_key) wanted.api_key = null
  if (current === null) return wanted as EndpointChanges
  return Object.fromEntries(
    Object.entries(wanted).filter(([k, v]) => k === "api_key" || (current as unknown as Record<string, unknown>)[k] !== v)
  ) as EndpointChanges
}

/**
 * Where a new node goes: endpoints in a column right of the blocks, blocks in a column left of the
 * endpoints, each below the last of its kind, on the grid, so that nothing lands on another node.
 */
const useFreeSpot = () => {
  const [state] = useEditor()
  const flow = useFlow()
  const snap = (v: number) => Math.round(v / GRID) * GRID
  const heightOf = (key: string) => flow.nodeLookup.get(key)?.measured.height ?? 160
  return (kind: "endpoint" | "block") => {
    const blocks = state.blocks.map((b) => ({ x: b.pos_x, bottom: b.pos_y + heightOf(blockKey(b.id)) }))
    const endpoints = state.endpoints.map((e) => ({ x: e.pos_x, bottom: e.pos_y + heightOf(endpointKey(e.id)) }))
    const top = Math.min(0, ...state.blocks.map((b) => b.pos_y))
    if (kind === "endpoint") {
      const x = endpoints.length > 0 ? Math.min(...endpoints.map((e) => e.x)) : Math.max(0, ...blocks.map((b) => b.x)) + 400
      return { pos_x: snap(x), pos_y: snap(Math.max(top, ...endpoints.map((e) => e.bottom + 32))) }
    }
    const x = blocks.length > 0 ? Math.min(...blocks.map((b) => b.x)) : Math.min(0, ...endpoints.map((e) => e.x)) - 400
    return { pos_x: snap(x), pos_y: snap(Math.max(top, ...blocks.map((b) => b.bottom + 32))) }
  }
}

/** Brings a node created off-screen into view once it has been drawn. */
const useShowNew = () => {
  const flow = useFlow()
  return () => requestAnimationFrame(() => void flow.fitView())
}

const EndpointForm: Component<{ readonly endpoint: EndpointNode | null }> = (props) => {
  const [state, actions] = useEditor()
  const showNew = useShowNew()
  const freeSpot = useFreeSpot()
  const [draft, setDraft] = createSignal(draftOf(props.endpoint))
  // a different node (or the server's answer) resets the form
  createEffect(on(() => props.endpoint?.id, () => setDraft(draftOf(props.endpoint))))
  const set = <K extends keyof EndpointDraft>(field: K, value: EndpointDraft[K], errorField: string = field) => {
    setDraft((d) => ({ ...d, [field]: value }))
    actions.clearFieldError(errorField)
  }
  const error = (field: string) => state.fieldErrors[field] ?? null
  const [busy, setBusy] = createSignal(false)

  const save = async (event: SubmitEvent) => {
    event.preventDefault()
    setBusy(true)
    try {
      if (props.endpoint === null) {
        const input = { ...changesOf(draft(), null), ...freeSpot("endpoint") } as EndpointInput
        const created = await actions.createEndpoint(input)
        if (created !== null) {
          actions.open(endpointKey(created.id))
          showNew()
        }
      } else {
        const changes = changesOf(draft(), props.endpoint)
        if (Object.keys(changes).length > 0 && (await actions.updateEndpoint(props.endpoint.id, changes))) {
          setDraft((d) => ({ ...d, api_key: "", clear_key: false }))
        }
      }
    } finally {
      setBusy(false)
    }
  }

  return (
    <form class="lb-inspector__form ui-stack" onSubmit={save} novalidate>
      <TextField label="Name" value={draft().name} onValue={(v) => set("name", v)} error={error("name")} required />
      <TextField
        label="Base URL"
        value={draft().base_url}
        onValue={(v) => set("base_url", v)}
        error={error("base_url")}
        placeholder="http://vllm:8000/v1"
        required
      />
      <TextField
        label="API key"
        type="password"
        autocomplete="off"
        value={draft().api_key}
        onValue={(v) => set("api_key", v)}
        error={error("api_key")}
        placeholder={
          draft().clear_key ? "cleared on save" : (props.endpoint?.api_key_preview ?? "none (optional)")
        }
        hint={props.endpoint?.api_key_preview != null ? "Write-only: type a new key to replace it" : undefined}
      />
      <Show when={props.endpoint?.api_key_preview != null && draft().api_key === ""}>
        <Button type="button" size="small" variant="ghost" onClick={() => set("clear_key", !draft().clear_key, "api_key")}>
          {draft().clear_key ? "Keep API key" : "Clear API key"}
        </Button>
      </Show>
      <Switch label="Enabled" checked={draft().enabled} onValue={(v) => set("enabled", v)} />
      <NumberField
        label="Token quota %"
        value={draft().token_quota_percent}
        onValue={(v) => set("token_quota_percent", v)}
        error={error("token_quota_percent")}
        min={0}
        max={100}
        step="any"
      />
      <NumberField
        label="Priority"
        value={draft().priority_order}
        onValue={(v) => set("priority_order", v)}
        error={error("priority_order")}
        min={0}
        step={1}
      />
      <NumberField
        label="Max concurrent"
        value={draft().max_concurrent}
        onValue={(v) => set("max_concurrent", v)}
        error={error("max_concurrent")}
        hint="0 = unlimited"
        min={0}
        step={1}
      />
      <NumberField
        label="Timeout (s)"
        value={draft().timeout}
        onValue={(v) => set("timeout", v)}
        error={error("timeout")}
        hint="empty = the balancer's default"
        min={0}
        step="any"
      />
      <Switch label="Verify TLS" checked={draft().verify_tls} onValue={(v) => set("verify_tls", v)} />
      <TextField
        label="Metrics URL"
        value={draft().metrics_url}
        onValue={(v) => set("metrics_url", v)}
        error={error("metrics_url")}
        placeholder="the base URL's origin + /metrics"
        hint="Prometheus engine metrics for routing mode load; empty = default"
      />
      <div class="lb-inspector__actions">
        <Button type="submit" variant="primary" disabled={busy()}>
          Save
        </Button>
        <Show when={props.endpoint}>
          {(endpoint) => (
            <Button type="button" variant="danger" onClick={() => void actions.deleteEndpoint(endpoint().id)}>
              Delete
            </Button>
          )}
        </Show>
      </div>
    </form>
  )
}

type ModeChoice = RoutingMode | "global"

const BlockForm: Component<{ readonly block: BlockNode | null }> = (props) => {
  const [state, actions] = useEditor()
  const showNew = useShowNew()
  const freeSpot = useFreeSpot()
  const isDefault = () => props.block?.id === DEFAULT_BLOCK
  const fresh = () => ({
    name: props.block?.name ?? "",
    mode: (isDefault() ? state.routingMode : (props.block?.routing_mode ?? "global")) as ModeChoice,
    enabled: props.block?.enabled ?? true
  })
  const [draft, setDraft] = createSignal(fresh())
  createEffect(on(() => props.block?.id, () => setDraft(fresh())))
  const error = (field: string) => state.fieldErrors[field] ?? null
  const options = () =>
    isDefault()
      ? [
          { value: "percentage" as ModeChoice, label: "percentage (global)" },
          { value: "priority" as ModeChoice, label: "priority (global)" },
          { value: "load" as ModeChoice, label: "load (global)" }
        ]
      : [
          { value: "global" as ModeChoice, label: `global (${state.routingMode})` },
          { value: "percentage" as ModeChoice, label: "percentage" },
          { value: "priority" as ModeChoice, label: "priority" },
          { value: "load" as ModeChoice, label: "load" }
        ]

  const save = async (event: SubmitEvent) => {
    event.preventDefault()
    const d = draft()
    const routing_mode = d.mode === "global" ? null : d.mode
    if (props.block === null) {
      const created = await actions.createBlock({ name: d.name, routing_mode, enabled: d.enabled, ...freeSpot("block") })
      if (created !== null) {
        actions.open(blockKey(created.id))
        showNew()
      }
      return
    }
    if (isDefault() && routing_mode !== null && routing_mode !== state.routingMode) await actions.setRoutingMode(routing_mode)
    const changes: Record<string, unknown> = {}
    if (!isDefault() && d.name !== props.block.name) changes.name = d.name
    if (!isDefault() && routing_mode !== props.block.routing_mode) changes.routing_mode = routing_mode
    if (d.enabled !== props.block.enabled) changes.enabled = d.enabled
    if (Object.keys(changes).length > 0) await actions.updateBlock(props.block.id, changes)
  }

  return (
    <form class="lb-inspector__form ui-stack" onSubmit={save} novalidate>
      <TextField
        label="Name"
        value={draft().name}
        onValue={(v) => {
          setDraft((d) => ({ ...d, name: v }))
          actions.clearFieldError("name")
        }}
        error={error("name")}
        disabled={isDefault()}
        hint={isDefault() ? "The built-in block cannot be renamed" : "Requests to /v1/<name>/… enter here"}
      />
      <Select
        label="Block routing mode"
        value={draft().mode}
        options={options()}
        onValue={(v) => setDraft((d) => ({ ...d, mode: v }))}
        error={error("routing_mode")}
      />
      <Switch label="Enabled" checked={draft().enabled} onValue={(v) => setDraft((d) => ({ ...d, enabled: v }))} />
      <div class="lb-inspector__actions">
        <Button type="submit" variant="primary">
          Save
        </Button>
        <Show when={props.block !== null && !isDefault()}>
          <Button type="button" variant="danger" onClick={() => props.block && void actions.deleteBlock(props.block.id)}>
            Delete
          </Button>
        </Show>
      </div>
    </form>
  )
}

export const Inspector: Component = () => {
  const [state, actions] = useEditor()
  const target = createMemo(() => {
    const key = state.inspector
    if (key === null) return null
    if (key === NEW_ENDPOINT) return { kind: "endpoint" as const, endpoint: null, title: "New endpoint" }
    if (key === NEW_BLOCK) return { kind: "block" as const, block: null, title: "New incoming block" }
    const { kind, id } = parseNodeKey(key)
    if (kind === "endpoint") {
      const endpoint = state.endpoints.find((e) => e.id === id)
      return endpoint === undefined ? null : { kind, endpoint, title: `Endpoint ${endpoint.name}` }
    }
    const block = state.blocks.find((b) => b.id === id)
    return block === undefined ? null : { kind, block, title: `Incoming block ${block.name}` }
  })

  return (
    <Show when={target()}>
      {(t) => (
        <aside class="lb-inspector" aria-label="Inspector">
          <header class="lb-inspector__head">
            <h2>{t().title}</h2>
            <Button type="button" variant="ghost" size="small" aria-label="Close inspector" onClick={() => actions.open(null)}>
              ×
            </Button>
          </header>
          <Show when={t().kind === "endpoint"} fallback={<BlockForm block={(t() as { block: BlockNode | null }).block} />}>
            <EndpointForm endpoint={(t() as { endpoint: EndpointNode | null }).endpoint} />
          </Show>
        </aside>
      )}
    </Show>
  )
}
