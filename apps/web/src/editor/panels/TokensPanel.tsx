/**
 * The `Client tokens` panel: the tokens with their limits and bound block, `New token` (the secret
 * shown once beside `Copy`), editing limits and binding, and `Revoke` behind a confirmation.
 */
import type { ClientToken } from "@llmlb/core"
import { type Component, createSignal, For, Show } from "solid-js"
import { Button, ConfirmDialog, NumberField, Select, Switch, TextField } from "../../ui/index.js"
import type { Notify } from "./slice.js"
import type { TokensActions, TokensSlice } from "./tokens.js"

export interface TokensPanelProps {
  readonly state: TokensSlice
  readonly actions: TokensActions
  readonly notify: Notify
}

const NO_BLOCK = ""

const limitText = (limit: number | null, unit: string) => (limit === null ? `no ${unit} limit` : `${limit.toLocaleString()} ${unit}`)

const when = (iso: string | null) => (iso === null ? "never" : new Date(iso).toLocaleString())

/** A per-minute limit: a whole number of at least 1, or empty for none. */
const LimitField: Component<TokensPanelProps & { readonly field: "rpm_limit" | "tpm_limit"; readonly label: string; readonly hint: string }> = (
  props
) => (
  <NumberField
    label={props.label}
    hint={props.hint}
    min={1}
    step={1}
    value={props.state.draft[props.field]}
    onValue={(v) => props.actions.setDraft(props.field, v)}
    error={props.state.fieldErrors[props.field]}
  />
)

const TokenForm: Component<TokensPanelProps> = (props) => {
  const draft = () => props.state.draft
  const errors = () => props.state.fieldErrors
  const isNew = () => props.state.editing === "new"
  const blockOptions = () => [
    { value: NO_BLOCK, label: "None (by path, else default)" },
    ...props.state.blocks.map((b) => ({ value: b.id, label: b.name }))
  ]
  return (
    <form
      class="ui-card ui-stack"
      aria-label={isNew() ? "New token" : "Edit token"}
      // The schema's messages (the server's wording) show beside the fields, not the browser's bubbles.
      noValidate
      onSubmit={(event) => {
        event.preventDefault()
        void props.actions.save()
      }}
    >
      <Show when={props.state.formError}>
        <p class="ui-field__error" role="alert">{props.state.formError}</p>
      </Show>
      <TextField
        label="Token name"
        value={draft().name}
        onValue={(v) => props.actions.setDraft("name", v)}
        error={errors().name}
        required
        data-autofocus
      />
      <div class="panels-two">
        <LimitField {...props} field="rpm_limit" label="RPM limit" hint="requests per minute; empty = none" />
        <LimitField {...props} field="tpm_limit" label="TPM limit" hint="tokens per minute; empty = none" />
      </div>
      <Select
        label="Bound block"
        hint="requests with this token enter this incoming block"
        value={draft().block_id ?? NO_BLOCK}
        options={blockOptions()}
        onValue={(v) => props.actions.setDraft("block_id", v === NO_BLOCK ? null : v)}
        error={errors().block_id}
      />
      <Show when={!isNew()}>
        <Switch label="Token enabled" checked={draft().enabled} onValue={(v) => props.actions.setDraft("enabled", v)} />
      </Show>
      <div class="ui-row ui-row--end">
        <Button onClick={() => props.actions.cancel()}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={props.state.saving}>{isNew() ? "Create" : "Save"}</Button>
      </div>
    </form>
  )
}

/** The secret of the token just created, with a `Copy` button; it is not shown again. */
const Secret: Component<TokensPanelProps & { readonly secret: { readonly name: string; readonly token: string } }> = (props) => {
  const [copied, setCopied] = createSignal(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.secret.token)
      setCopied(true)
      props.notify("Token copied to the clipboard", "success")
    } catch {
      props.notify("Copying failed: select the token and copy it by hand", "error")
    }
  }
  return (
    <section class="ui-secret ui-stack" aria-label="New token secret">
      <div>
        <strong>{props.secret.name}</strong>: copy the token now. It is shown only this once.
      </div>
      <div class="ui-row">
        <code class="ui-mono panels-secret" data-testid="token-secret">{props.secret.token}</code>
      </div>
      <div class="ui-row ui-row--end">
        <Show when={copied()}>
          <span role="status" class="panels-outcome">Copied</span>
        </Show>
        {/* Always named `Copy` (the contract): the outcome is the status beside it. */}
        <Button onClick={copy}>Copy</Button>
        <Button variant="ghost" onClick={() => props.actions.dismissSecret()}>Done</Button>
      </div>
    </section>
  )
}

const TokenItem: Component<TokensPanelProps & { readonly token: ClientToken.ClientToken }> = (props) => {
  const blockName = () => {
    const id = props.token.block_id
    return id === null ? "by path" : (props.state.blocks.find((b) => b.id === id)?.name ?? id)
  }
  const headingId = () => `token-${props.token.id}`
  return (
    <li class="panels-item" aria-labelledby={headingId()}>
      <div class="ui-row panels-item__head">
        <h3 class="panels-item__title" id={headingId()}>{props.token.name}</h3>
        <span class="ui-mono ui-muted">{props.token.token_preview}</span>
        <Show when={!props.token.enabled}>
          <span class="ui-badge ui-badge--danger">disabled</span>
        </Show>
      </div>
      <div class="ui-muted panels-item__meta">
        <span>{limitText(props.token.rpm_limit, "rpm")}</span>
        <span>{limitText(props.token.tpm_limit, "tpm")}</span>
        <span>block: {blockName()}</span>
        <span>last used: {when(props.token.last_used_at)}</span>
      </div>
      <div class="ui-row ui-row--end">
        <Button size="small" onClick={() => props.actions.startEdit(props.token.id)} disabled={props.state.editing !== null}>
          Edit
        </Button>
        <Button size="small" variant="danger" onClick={() => props.actions.askRevoke(props.token.id)}>Revoke</Button>
      </div>
    </li>
  )
}

export const TokensPanel: Component<TokensPanelProps> = (props) => {
  const revoking = () => props.state.items.find((t) => t.id === props.state.revoking)
  return (
    <div class="ui-stack">
      <div class="ui-row">
        <Button variant="primary" onClick={() => props.actions.startNew()} disabled={props.state.editing !== null}>New token</Button>
        <span class="ui-muted">Bearer tokens for the /v1 API.</span>
      </div>
      <Show when={props.state.secret}>{(secret) => <Secret {...props} secret={secret()} />}</Show>
      <Show when={props.state.editing === "new"}>
        <TokenForm {...props} />
      </Show>
      <Show when={props.state.loadError}>
        <p class="ui-field__error" role="alert">{props.state.loadError}</p>
      </Show>
      <Show when={!props.state.loading || props.state.items.length > 0} fallback={<p class="ui-muted">Loading...</p>}>
        <Show when={props.state.items.length > 0} fallback={<p class="ui-muted">No client tokens yet: the /v1 API accepts the tokens of LB_CLIENT_TOKENS, or anyone when there are none.</p>}>
          <ul class="panels-list" aria-label="Client tokens">
            <For each={props.state.items}>
              {(token) => (
                <Show when={props.state.editing === token.id} fallback={<TokenItem {...props} token={token} />}>
                  <li class="panels-item" aria-label={`Edit ${token.name}`}>
                    <TokenForm {...props} />
                  </li>
                </Show>
              )}
            </For>
          </ul>
        </Show>
      </Show>
      <ConfirmDialog
        open={props.state.revoking !== null}
        title={`Revoke token "${revoking()?.name ?? ""}"?`}
        message="Clients using it get 401 from now on. The token cannot be restored; create a new one instead."
        danger
        onConfirm={() => props.actions.revoke()}
        onCancel={() => props.actions.cancelRevoke()}
      />
    </div>
  )
}
