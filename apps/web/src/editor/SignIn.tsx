/**
 * The sign-in form: the admin token (LB_ADMIN_TOKEN), checked against the balancer before it is kept.
 * The page shows the editor once `session.token()` is set; the server's refusal shows under the field.
 */
import { type Component, createSignal } from "solid-js"
import type { AdminSession } from "../api/index.js"
import { ApiError } from "../api/index.js"
import type { State } from "@llmlb/api"
import { Button, TextField, ThemeToggle } from "../ui/index.js"

export interface SignInProps {
  readonly session: AdminSession
  /** Called with the state the token was checked with. */
  readonly onSignedIn?: (state: State) => void
}

export const SignIn: Component<SignInProps> = (props) => {
  const [token, setToken] = createSignal("")
  const [error, setError] = createSignal<string | null>(null)
  const [busy, setBusy] = createSignal(false)

  const submit = async (event: SubmitEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const state = await props.session.signIn(token())
      setToken("")
      props.onSignedIn?.(state)
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="signin">
      <div class="signin__theme">
        <ThemeToggle />
      </div>
      <form class="signin__card ui-stack" onSubmit={submit} aria-labelledby="signin-title" novalidate>
        <div>
          <h1 class="signin__title" id="signin-title">LLM Load Balancer</h1>
          <p class="ui-muted">Sign in with the admin token (<span class="ui-mono">LB_ADMIN_TOKEN</span>).</p>
        </div>
        <TextField
          label="Admin token"
          type="password"
          name="admin-token"
          autocomplete="current-password"
          required
          value={token()}
          onValue={setToken}
          error={error()}
          data-autofocus
          autofocus
        />
        <Button type="submit" variant="primary" disabled={busy() || token().trim() === ""}>
          Sign in
        </Button>
      </form>
    </main>
  )
}
