/** The footer (global tok/s, req/s, in-flight, version, connection) and the "Connection lost" banner. */
import { type Component, Show } from "solid-js"
import { rate } from "./nodes/share.js"
import { useEditor } from "./store/context.js"

const CONNECTION_TEXT = { connecting: "Connecting…", open: "Live", lost: "Connection lost" } as const

export const ConnectionBanner: Component = () => {
  const [state] = useEditor()
  return (
    <Show when={state.connection === "lost"}>
      <div class="lb-banner" role="alert">
        Connection lost - reconnecting…
      </div>
    </Show>
  )
}

export const Footer: Component = () => {
  const [state] = useEditor()
  return (
    <footer class="lb-footer" aria-label="Totals">
      <span>{`${rate(state.global.tokens_per_second)} tok/s`}</span>
      <span>{`${rate(state.global.requests_per_second)} req/s`}</span>
      <span>{`${state.global.total_inflight} in flight`}</span>
      <span class="lb-footer__spacer" />
      <span>{state.version === "" ? "" : `v${state.version}`}</span>
      <span class={`lb-footer__conn lb-footer__conn--${state.connection}`}>
        <span class="lb-footer__dot" aria-hidden="true" />
        {CONNECTION_TEXT[state.connection]}
      </span>
    </footer>
  )
}
