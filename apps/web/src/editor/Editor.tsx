/**
 * The editor page once signed in: one store for the page, fed by the admin API and the live event
 * stream, the canvas with its toolbar, inspector, footer and connection banner.
 */
import { type Component, createEffect, on, onCleanup, onMount } from "solid-js"
import type { AdminSession } from "../api/index.js"
import { toast } from "../ui/index.js"
import { Canvas } from "./canvas/Canvas.js"
import { createFlow, FlowProvider } from "./canvas/flow.js"
import { Inspector } from "./Inspector.js"
import { mountShortcuts } from "./keyboard.js"
import { ConnectionBanner, Footer } from "./StatusBar.js"
import { editorApi } from "./store/AdminSession.js"
import { EditorProvider } from "./store/context.js"
import { createEditorStore } from "./store/EditorStore.js"
import { followLive } from "./store/live.js"
import { Toolbar } from "./Toolbar.js"

/** Marks the first frame with the loaded nodes measured and fitted (the load-to-canvas figure). */
export const CANVAS_PAINTED = "lb:canvas-painted"

export const Editor: Component<{ readonly session: AdminSession }> = (props) => {
  const store = createEditorStore({ api: editorApi(props.session), notify: (message, kind) => toast(message, kind) })
  const [state, actions] = store
  const flow = createFlow()
  followLive(props.session.events, actions)
  mountShortcuts(flow, store)
  onMount(() => void actions.load())

  // once the first state is on the canvas and measured: fit it into view, then mark the paint
  let fitted = false
  createEffect(
    on(flow.version, () => {
      if (fitted || !state.loaded) return
      const all = state.blocks.length + state.endpoints.length
      const measured = [...flow.nodeLookup.values()].filter((n) => n.internals.handleBounds !== undefined).length
      if (measured < all || flow.size().width === 0) return
      fitted = true
      void flow.fitView(0).then(() => requestAnimationFrame(() => performance.mark(CANVAS_PAINTED)))
    })
  )
  onCleanup(() => flow.dispose())

  return (
    <EditorProvider store={store}>
      <FlowProvider value={flow}>
        <div class="lb-editor">
          <Toolbar session={props.session} />
          <ConnectionBanner />
          <main class="lb-editor__main">
            <Canvas />
            <Inspector />
          </main>
          <Footer />
        </div>
      </FlowProvider>
    </EditorProvider>
  )
}
