/**
 * A page for the browser tests of the UI kit, the sign-in form and the panels (ui-kit.test.ts,
 * panels-browser.test.ts): `?view=kit` shows every kit component, `?view=app` a minimal editor shell
 * (sign-in, then the panel buttons and the connection state) on the real admin API.
 */
import { createSignal, Match, onCleanup, Show, Switch as Case } from "solid-js"
import { render } from "solid-js/web"
import { createAdminSession } from "../../src/api/index.js"
import { PanelButtons } from "../../src/editor/panels/index.js"
import { SignIn } from "../../src/editor/SignIn.js"
import {
  Button,
  ConfirmDialog,
  Dialog,
  NumberField,
  Panel,
  Select,
  Switch,
  TextField,
  ThemeProvider,
  ThemeToggle,
  toast,
  Toaster
} from "../../src/ui/index.js"
import "../../src/ui/theme.css"

const Kit = () => {
  const [name, setName] = createSignal("")
  const [limit, setLimit] = createSignal<number | null>(null)
  const [mode, setMode] = createSignal<"percentage" | "priority">("percentage")
  const [on, setOn] = createSignal(true)
  const [dialog, setDialog] = createSignal(false)
  const [confirm, setConfirm] = createSignal(false)
  const [confirmed, setConfirmed] = createSignal(0)
  const [panel, setPanel] = createSignal(false)
  return (
    <main class="ui-stack" id="kit">
      <ThemeToggle />
      <TextField label="Name" value={name()} onValue={setName} error={name() === "bad" ? "name must not be bad" : null} />
      <NumberField label="Limit" value={limit()} onValue={setLimit} hint="empty = none" />
      <Select label="Mode" value={mode()} onValue={setMode} options={[{ value: "percentage", label: "Percentage" }, { value: "priority", label: "Priority" }]} />
      <Switch label="Active" checked={on()} onValue={setOn} />
      <output id="values">{JSON.stringify({ name: name(), limit: limit(), mode: mode(), on: on(), confirmed: confirmed() })}</output>
      <Button onClick={() => setDialog(true)}>Open dialog</Button>
      <Button onClick={() => setConfirm(true)}>Ask</Button>
      <Button onClick={() => setPanel(true)}>Open panel</Button>
      <Button onClick={() => toast("Saved", "success")}>Toast</Button>
      <Dialog open={dialog()} title="Edit thing" onClose={() => setDialog(false)} actions={<Button onClick={() => setDialog(false)}>Close dialog</Button>}>
        <TextField label="First" value="" onValue={() => {}} />
        <TextField label="Second" value="" onValue={() => {}} />
      </Dialog>
      <ConfirmDialog
        open={confirm()}
        title="Do it?"
        message="It will be done."
        onConfirm={() => {
          setConfirmed((n) => n + 1)
          setConfirm(false)
        }}
        onCancel={() => setConfirm(false)}
      />
      <Panel open={panel()} title="Side things" onClose={() => setPanel(false)}>
        <Button>Inside</Button>
      </Panel>
    </main>
  )
}

const App = () => {
  const session = createAdminSession("")
  return (
    <Show when={session.token()} fallback={<SignIn session={session} />}>
      {(_) => {
        const [states, setStates] = createSignal(0)
        onCleanup(session.events.subscribe(() => setStates((n) => n + 1)))
        return (
          <div>
            <nav class="ui-row" aria-label="Toolbar">
              <PanelButtons session={session} />
              <ThemeToggle />
              <Button onClick={() => session.signOut()}>Sign out</Button>
            </nav>
            <p id="connection">{session.events.status()} {states() > 0 ? "live" : ""}</p>
            <Case>
              <Match when={session.events.status() === "lost"}>
                <p role="alert">Connection lost</p>
              </Match>
            </Case>
          </div>
        )
      }}
    </Show>
  )
}

const view = new URLSearchParams(location.search).get("view")
render(
  () => (
    <ThemeProvider>
      {view === "app" ? <App /> : <Kit />}
      <Toaster />
    </ThemeProvider>
  ),
  document.getElementById("root")!
)
