/** Feeds the event stream into the store: every snapshot, and the connection status for the banner. */
import { type Accessor, createEffect, onCleanup } from "solid-js"
import type { ConnectionStatus, LiveState } from "./EditorApi.js"
import type { EditorActions } from "./EditorStore.js"

export interface LiveSource {
  readonly status: Accessor<ConnectionStatus>
  readonly subscribe: (listener: (state: LiveState) => void) => () => void
}

/** Call inside a reactive owner (a component or createRoot); stops with it. */
export const followLive = (source: LiveSource, actions: Pick<EditorActions, "receive" | "setConnection">) => {
  createEffect(() => actions.setConnection(source.status()))
  onCleanup(source.subscribe(actions.receive))
}
