/** The editor page's entry: theme, toasts, and the sign-in form until the session has a token. */
import { Show } from "solid-js"
import { render } from "solid-js/web"
import { createAdminSession } from "../api/index.js"
import "../ui/theme.css"
import { ThemeProvider, Toaster } from "../ui/index.js"
import { Editor } from "./Editor.js"
import "./editor.css"
import { SignIn } from "./SignIn.js"

const session = createAdminSession()

render(
  () => (
    <ThemeProvider>
      <Show when={session.token() !== null} fallback={<SignIn session={session} />}>
        <Editor session={session} />
      </Show>
      <Toaster />
    </ThemeProvider>
  ),
  document.getElementById("root")!
)
