/**
 * Modal dialogs: role="dialog" with aria-modal, labelled by their title, focus trapped inside while
 * open, Escape or the backdrop closes, focus returns to where it was. ConfirmDialog's confirming
 * button is always named `Confirm` (browser tests and screen-reader users rely on it).
 */
import { type Component, createSignal, createUniqueId, type JSX, onCleanup, onMount, type ParentComponent, Show } from "solid-js"
import { Portal } from "solid-js/web"
import { Button } from "./Button.js"
import { focusFirst, trapTab } from "./focus.js"

export interface DialogProps {
  readonly open: boolean
  readonly title: string
  readonly onClose: () => void
  /** Buttons at the bottom, right-aligned. */
  readonly actions?: JSX.Element
}

const DialogBox: ParentComponent<Omit<DialogProps, "open">> = (props) => {
  let box!: HTMLDivElement
  const titleId = `dialog-${createUniqueId()}`
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
  onMount(() => focusFirst(box))
  onCleanup(() => opener?.focus())
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Escape") {
      event.stopPropagation()
      props.onClose()
    } else trapTab(box, event)
  }
  return (
    <div class="ui-backdrop" onMouseDown={(event) => event.target === event.currentTarget && props.onClose()}>
      <div ref={box} class="ui-dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} tabIndex={-1} onKeyDown={onKeyDown}>
        <h2 class="ui-dialog__title" id={titleId}>{props.title}</h2>
        <div class="ui-dialog__body">{props.children}</div>
        <Show when={props.actions}>
          <div class="ui-dialog__actions">{props.actions}</div>
        </Show>
      </div>
    </div>
  )
}

export const Dialog: ParentComponent<DialogProps> = (props) => (
  <Show when={props.open}>
    <Portal>
      <DialogBox title={props.title} onClose={props.onClose} actions={props.actions}>{props.children}</DialogBox>
    </Portal>
  </Show>
)

export interface ConfirmDialogProps {
  readonly open: boolean
  readonly title: string
  /** What will happen, in a sentence. */
  readonly message: string
  /** May return a promise: the buttons stay disabled until it settles. The caller closes the dialog (open = false). */
  readonly onConfirm: () => unknown
  readonly onCancel: () => void
  readonly danger?: boolean
}

export const ConfirmDialog: Component<ConfirmDialogProps> = (props) => {
  const [busy, setBusy] = createSignal(false)
  const confirm = async () => {
    setBusy(true)
    try {
      await props.onConfirm()
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog
      open={props.open}
      title={props.title}
      onClose={() => busy() || props.onCancel()}
      actions={
        <>
          <Button onClick={() => props.onCancel()} disabled={busy()}>Cancel</Button>
          <Button variant={props.danger ? "danger" : "primary"} onClick={confirm} disabled={busy()} data-autofocus>
            Confirm
          </Button>
        </>
      }
    >
      <p>{props.message}</p>
    </Dialog>
  )
}
