/**
 * The `Audit log` panel: admin mutations newest first (time, action, target, changed fields, actor
 * address, the replica that made it), a page at a time with `Load more`.
 */
import type { AuditEntry } from "@llmlb/api"
import { type Component, For, Show } from "solid-js"
import { Button } from "../../ui/index.js"
import type { AuditActions, AuditSlice } from "./audit.js"

export interface AuditPanelProps {
  readonly state: AuditSlice
  readonly actions: AuditActions
}

/** A value as a short text: long ones are cut, absent ones are a dash. */
const show = (value: unknown): string => {
  if (value === undefined) return "-"
  const text = typeof value === "string" ? value : JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** "old -> new" for an update, the value for a creation, the old value for a deletion. */
const changeText = (change: { readonly old?: unknown; readonly new?: unknown }) =>
  "old" in change && "new" in change ? `${show(change.old)} → ${show(change.new)}` : "new" in change ? show(change.new) : `${show(change.old)} (removed)`

/** The target as people know it: its name when the change names it, else its id. */
const targetText = (entry: AuditEntry) => {
  const name = entry.changes["name"]
  const known = name?.new ?? name?.old
  const id = entry.target_id
  return [entry.target_type, typeof known === "string" ? `"${known}"` : id].filter((part) => part !== null).join(" ")
}

const Entry: Component<{ readonly entry: AuditEntry }> = (props) => {
  const changes = () => Object.entries(props.entry.changes)
  return (
    <li class="panels-item">
      <div class="ui-row panels-item__head">
        <span class="ui-badge ui-badge--accent">{props.entry.action}</span>
        <span class="panels-item__title">{targetText(props.entry)}</span>
      </div>
      <div class="ui-muted panels-item__meta">
        <time datetime={props.entry.time}>{new Date(props.entry.time).toLocaleString()}</time>
        <span>by {props.entry.client_address ?? "unknown address"}</span>
        <Show when={props.entry.replica}>{(replica) => <span>on replica {replica()}</span>}</Show>
      </div>
      <Show when={changes().length > 0}>
        <dl class="panels-changes">
          <For each={changes()}>
            {([field, change]) => (
              <>
                <dt class="ui-mono">{field}</dt>
                <dd class="ui-mono">{changeText(change)}</dd>
              </>
            )}
          </For>
        </dl>
      </Show>
    </li>
  )
}

export const AuditPanel: Component<AuditPanelProps> = (props) => (
  <div class="ui-stack">
    <div class="ui-row">
      <Button onClick={() => void props.actions.refresh()} disabled={props.state.loading}>Refresh</Button>
      <span class="ui-muted">Every admin change, newest first.</span>
    </div>
    <Show when={props.state.error}>
      <p class="ui-field__error" role="alert">{props.state.error}</p>
    </Show>
    <Show when={props.state.entries.length > 0} fallback={<p class="ui-muted">{props.state.loading ? "Loading..." : "No entries yet."}</p>}>
      <ul class="panels-list" aria-label="Audit entries">
        <For each={props.state.entries}>{(entry) => <Entry entry={entry} />}</For>
      </ul>
    </Show>
    <Show when={!props.state.exhausted && props.state.entries.length > 0}>
      <Button onClick={() => void props.actions.more()} disabled={props.state.loading}>Load more</Button>
    </Show>
  </div>
)
