/**
 * A side drawer: a non-modal dialog at the right edge with a title and a `Close` button. Escape closes
 * it; focus moves into it when it opens and back to the opener when it closes.
 */
import { createUniqueId, onCleanup, onMount, type ParentComponent, Show } from "solid-js"
import { Portal } from "solid-js/web"
import { IconButton } from "./Button.js"
import { focusFirst } from "./focus.js"
import { CloseIcon } from "./Icons.js"

export interface PanelProps {
  readonly open: boolean
  readonly title: string
  readonly onClose: () => void
  readonly class?: string | undefined
  /** Pixels from the top of the window (e.g. below the toolbar holding the buttons that open it); default 0. */
  readonly top?: number | undefined
}

const PanelBody: ParentComponent<Omit<PanelProps, "open">> = (props) => {
  let box!: HTMLElement
  const titleId = `panel-${createUniqueId()}`
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
  onMount(() => focusFirst(box))
  onCleanup(() => {
    if (opener?.isConnected) opener.focus()
  })
  return (
    <aside
      ref={box}
      class={`ui-panel ${props.class ?? ""}`}
      // Set through the DOM's style property, which the CSP allows (an inline style attribute it would not).
      style={{ top: `${props.top ?? 0}px` }}
      role="dialog"
      aria-modal="false"
      aria-labelledby={titleId}
      tabIndex={-1}
      onKeyDown={(event) => {
        if (event.key === "Escape" && !event.defaultPrevented) {
          event.stopPropagation()
          props.onClose()
        }
      }}
    >
      <header class="ui-panel__header">
        <h2 class="ui-panel__title" id={titleId}>{props.title}</h2>
        <IconButton label="Close" onClick={() => props.onClose()}>
          <CloseIcon />
        </IconButton>
      </header>
      <div class="ui-panel__body">{props.children}</div>
    </aside>
  )
}

export const Panel: ParentComponent<PanelProps> = (props) => (
  <Show when={props.open}>
    {/* In <body>: a transformed or clipped ancestor (a toolbar) must not move or cut the drawer. */}
    <Portal>
      <PanelBody title={props.title} onClose={props.onClose} class={props.class} top={props.top}>{props.children}</PanelBody>
    </Portal>
  </Show>
)
