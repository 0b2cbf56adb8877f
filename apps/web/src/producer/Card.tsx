/**
 * One card: a load profile to edit (where it sends, what it sends, how hard and how long), its live
 * figures, and its actions. Accessible names here are a contract (browser tests and the guide use them).
 */
import { type Component, createMemo, createSignal, For, Show } from "solid-js"
import { Button, NumberField, Select, Switch, TextField } from "../ui/index.js"
import { download } from "./download.js"
import { format } from "./metrics.js"
import { NameDialog } from "./NameDialog.js"
import type { ProducerSession } from "./session.js"
import { validate } from "./settings.js"
import type { Card as CardState, ProducerStore } from "./store.js"

interface Props {
  readonly card: CardState
  readonly store: ProducerStore
  readonly session: ProducerSession
}

type Naming = { readonly kind: "save-profile" | "save-config" | "rename-profile" | "rename-config"; readonly initial: string } | null

export const CardView: Component<Props> = (props) => {
  const id = () => props.card.id
  const form = () => props.card.form
  const errors = createMemo(() => validate(props.card.form))
  const run = () => (props.card.runId === null ? undefined : props.store.state.runs[props.card.runId])
  const point = () => run()?.points.at(-1)
  /** The latest second that saw a first token (a second without one has no TTFT: keep showing the last). */
  const ttftPoint = () => {
    const points = run()?.points ?? []
    for (let i = points.length - 1; i >= 0; i--) if (points[i]!.ttft_p50_ms !== null) return points[i]
    return undefined
  }
  const running = () => props.card.status === "running"
  const [naming, setNaming] = createSignal<Naming>(null)
  const [dialogError, setDialogError] = createSignal<string | null>(null)
  const update = (patch: Parameters<ProducerStore["updateForm"]>[1]) => props.store.updateForm(id(), patch)

  const profileOptions = createMemo(() => [
    { value: "", label: "(none)" },
    ...props.store.state.presets.map((p) => ({ value: `preset:${p.id}`, label: `Preset: ${p.name}` })),
    ...props.store.state.profiles.map((p) => ({ value: `profile:${p.id}`, label: p.name })),
    ...props.store.state.localProfiles.map((p) => ({ value: `local:${p.name}`, label: `${p.name} (this browser)` }))
  ])
  const configOptions = createMemo(() => [
    { value: "", label: "(none: the fields below)" },
    ...props.store.state.modelConfigs.map((m) => ({ value: m.id, label: m.name }))
  ])
  const selectedProfile = () =>
    props.card.profile.startsWith("profile:") ? props.store.state.profiles.find((p) => `profile:${p.id}` === props.card.profile) : undefined
  const selectedConfig = () => props.store.state.modelConfigs.find((m) => m.id === props.card.modelConfigId)

  /** Progress 0..1: by requests sent, or by time, whichever limit the card set. */
  const progress = () => {
    const p = point()
    if (p === undefined) return props.card.status === "done" ? 1 : 0
    const byCount = form().requests === null ? 0 : p.sent / form().requests!
    const byTime = form().duration === null ? 0 : p.t / form().duration!
    return Math.min(1, Math.max(byCount, byTime))
  }

  const exportJson = async () => {
    if (props.card.runId === null) return
    const detail = await props.store.loadRun(props.card.runId)
    download(`run-${detail.id}.json`, "application/json", JSON.stringify(detail.report ?? detail, null, 2))
  }
  const exportCsv = async () => {
    if (props.card.runId === null) return
    const response = await fetch(`/api/runs/${props.card.runId}/requests.csv`, { headers: props.session.headers() })
    download(`run-${props.card.runId}-requests.csv`, "text/csv", await response.text())
  }

  const submitName = async (name: string) => {
    const what = naming()
    if (what === null) return
    try {
      if (what.kind === "save-profile") await props.store.saveProfile(id(), name)
      else if (what.kind === "save-config") await props.store.saveModelConfig(id(), name)
      else if (what.kind === "rename-profile") await props.store.renameSaved("profile", selectedProfile()!.id, name)
      else await props.store.renameSaved("model-config", selectedConfig()!.id, name)
      setNaming(null)
      setDialogError(null)
    } catch (error) {
      setDialogError((error as Error).message)
    }
  }

  return (
    <section class="lp-card" role="region" aria-label={`Card ${props.card.name}`} data-status={props.card.status}>
      <header class="lp-card__header">
        <h3 class="lp-card__title">Card {props.card.name}</h3>
        <span class={`lp-status lp-status--${props.card.status}`} data-testid="card-status">{props.card.status}</span>
      </header>

      <div class="lp-card__row">
        <Select label="Profile" value={props.card.profile} options={profileOptions()} onValue={(v) => props.store.applyProfile(id(), v)} />
        <div class="lp-card__actions">
          <Button size="small" onClick={() => setNaming({ kind: "save-profile", initial: selectedProfile()?.name ?? "" })}>Save profile</Button>
          <Show when={selectedProfile()}>
            <Button size="small" onClick={() => setNaming({ kind: "rename-profile", initial: selectedProfile()!.name })}>Rename profile</Button>
            <Button size="small" variant="ghost" onClick={() => void props.store.deleteSaved("profile", selectedProfile()!.id)}>Delete profile</Button>
          </Show>
        </div>
      </div>

      <div class="lp-card__row">
        <Select label="Model configuration" value={props.card.modelConfigId} options={configOptions()} onValue={(v) => props.store.applyModelConfig(id(), v)} />
        <div class="lp-card__actions">
          <Button size="small" onClick={() => setNaming({ kind: "save-config", initial: selectedConfig()?.name ?? "" })}>Save model configuration</Button>
          <Show when={selectedConfig()}>
            <Button size="small" onClick={() => setNaming({ kind: "rename-config", initial: selectedConfig()!.name })}>Rename model configuration</Button>
            <Button size="small" variant="ghost" onClick={() => void props.store.deleteSaved("model-config", selectedConfig()!.id)}>Delete model configuration</Button>
          </Show>
        </div>
      </div>

      <div class="lp-card__grid">
        <TextField class="lp-span2" label="API base URL" value={form().base_url} error={errors().base_url} onValue={(v) => update({ base_url: v })} disabled={running()} />
        <TextField
          label="API key"
          type="password"
          autocomplete="off"
          value={form().api_key}
          hint={selectedConfig()?.api_key_preview ? `saved: ${selectedConfig()!.api_key_preview}` : undefined}
          onValue={(v) => update({ api_key: v })}
          disabled={running()}
        />
        <TextField label="Model" value={form().model} placeholder="first of /models" onValue={(v) => update({ model: v })} disabled={running()} />
        <Select
          label="Route"
          value={form().route}
          options={[{ value: "chat", label: "chat" }, { value: "completions", label: "completions" }]}
          onValue={(v) => update({ route: v })}
          disabled={running()}
        />
        <NumberField label="Max tokens" value={form().max_tokens} min={1} error={errors().max_tokens} onValue={(v) => update({ max_tokens: v })} disabled={running()} />
        <TextField class="lp-span2" label="Prompt" value={form().prompt} placeholder="synthetic when empty; {i} and {random_words:N} allowed" onValue={(v) => update({ prompt: v })} disabled={running()} />
        <NumberField label="Input tokens" value={form().input_tokens} min={1} error={errors().input_tokens} onValue={(v) => update({ input_tokens: v })} disabled={running()} />
        <NumberField label="Concurrency" value={form().concurrency} min={1} error={errors().concurrency} onValue={(v) => update({ concurrency: v })} disabled={running()} />
        <NumberField label="Rate (req/s)" value={form().rate} min={0} step="any" error={errors().rate} hint="empty: closed loop" onValue={(v) => update({ rate: v })} disabled={running()} />
        <NumberField label="Requests" value={form().requests} min={1} error={errors().requests} onValue={(v) => update({ requests: v })} disabled={running()} />
        <NumberField label="Duration (s)" value={form().duration} min={0} step="any" error={errors().duration} onValue={(v) => update({ duration: v })} disabled={running()} />
        <Switch label="Stream" checked={form().stream} onValue={(v) => update({ stream: v })} disabled={running()} />
      </div>
      <Show when={Object.keys(form().extra).length > 0}>
        <p class="lp-muted lp-small">From the profile: <For each={Object.keys(form().extra)}>{(key, i) => <>{i() > 0 ? ", " : ""}{key}</>}</For></p>
      </Show>

      <div class="lp-card__live">
        <progress max="1" value={progress()} aria-label="Progress" />
        <p class="lp-figures">
          sent {point()?.sent ?? 0} · done {point()?.completed ?? 0} · errors {point()?.failed ?? 0}
        </p>
        <p class="lp-figures lp-figures--strong">
          {format(point()?.request_throughput ?? 0)} req/s · {format(point()?.output_throughput ?? 0)} tok/s · TTFT p50 {format(ttftPoint()?.ttft_p50_ms ?? null, "ms")} · p99 {format(ttftPoint()?.ttft_p99_ms ?? null, "ms")}
        </p>
        <Show when={props.card.error ?? (run()?.reason && props.card.status !== "running" ? run()!.reason : null)}>
          <p class="lp-error" role="alert">{props.card.error ?? run()?.reason}</p>
        </Show>
      </div>

      <div class="lp-card__buttons">
        <Button variant="primary" onClick={() => void props.store.start(id())} disabled={running()}>Start</Button>
        <Button onClick={() => void props.store.stop(id())} disabled={!running()}>Stop</Button>
        <Button onClick={() => props.store.reset(id())} disabled={running()}>Reset</Button>
        <Button onClick={() => props.store.duplicateCard(id())}>Duplicate</Button>
        <Button variant="danger" onClick={() => props.store.deleteCard(id())}>Delete</Button>
        <span class="lp-grow" />
        <Button size="small" onClick={() => props.store.selectRun(props.card.runId)} disabled={props.card.runId === null}>Show dashboard</Button>
        <Button size="small" onClick={() => void exportJson()} disabled={props.card.runId === null || running()}>Export JSON</Button>
        <Button size="small" onClick={() => void exportCsv()} disabled={props.card.runId === null}>Export CSV</Button>
      </div>

      <NameDialog
        open={naming() !== null}
        title={naming()?.kind.endsWith("config") ? "Model configuration" : "Profile"}
        label={naming()?.kind.endsWith("config") ? "Model configuration name" : "Profile name"}
        initial={naming()?.initial ?? ""}
        error={dialogError()}
        onSubmit={(name) => void submitName(name)}
        onClose={() => {
          setNaming(null)
          setDialogError(null)
        }}
      />
    </section>
  )
}
