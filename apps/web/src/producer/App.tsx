/**
 * The producer page: the toolbar (global Start all / Stop all / Reset all, Add card, the theme), the
 * cards grid, the dashboard of the selected run and the history. Asks for LP_TOKEN once when the server
 * wants one; says when the server cannot be reached and offers to upload what the browser kept.
 */
import { type Component, createSignal, For, onMount, Show } from "solid-js"
import { Button, Dialog, TextField, ThemeToggle } from "../ui/index.js"
import { CardView } from "./Card.js"
import { Dashboard } from "./Dashboard.js"
import { History } from "./History.js"
import { createProducerSession } from "./session.js"
import { createProducerStore } from "./store.js"

export const App: Component = () => {
  const session = createProducerSession()
  const store = createProducerStore(session)
  const [token, setToken] = createSignal("")
  onMount(() => void store.init())

  const submitToken = () => {
    session.setToken(token())
    void store.load()
  }

  return (
    <div class="lp-app">
      <header class="lp-toolbar">
        <h1 class="lp-toolbar__title">Load producer</h1>
        <span class={`lp-live lp-live--${session.live.status()}`} title="live feed">{session.live.status() === "open" ? "live" : session.live.status()}</span>
        <span class="lp-grow" />
        <Button onClick={() => store.addCard()}>Add card</Button>
        <Button variant="primary" onClick={() => void store.startAll()}>Start all</Button>
        <Button onClick={() => void store.stopAll()}>Stop all</Button>
        <Button onClick={() => store.resetAll()}>Reset all</Button>
        <ThemeToggle />
      </header>

      <Show when={!store.state.online}>
        <p class="lp-warning" role="alert">
          The load producer's server cannot be reached: profiles you save are kept in this browser.{" "}
          <Button size="small" onClick={() => void store.refreshSaved().catch(() => undefined)}>Retry</Button>
        </p>
      </Show>
      <Show when={store.state.online && store.state.localProfiles.length > 0}>
        <p class="lp-note">
          {store.state.localProfiles.length} profile(s) were saved in this browser while the server was away.{" "}
          <Button size="small" onClick={() => void store.uploadLocalProfiles()}>Upload saved profiles</Button>
        </p>
      </Show>

      <main class="lp-main">
        <div class="lp-cards">
          <For each={store.state.cards}>{(card) => <CardView card={card} store={store} session={session} />}</For>
        </div>
        <Dashboard store={store} session={session} />
        <History store={store} />
      </main>

      <Dialog
        open={session.needsToken()}
        title="Access token"
        onClose={() => undefined}
        actions={<Button variant="primary" onClick={submitToken}>Sign in</Button>}
      >
        <form onSubmit={(event) => {
          event.preventDefault()
          submitToken()
        }}>
          <TextField label="LP_TOKEN" type="password" value={token()} onValue={setToken} hint="This server needs its LP_TOKEN" />
        </form>
      </Dialog>
    </div>
  )
}
