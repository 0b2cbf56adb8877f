/**
 * Toasts: short messages at the bottom of the page that go away by themselves. `toast(message, kind)`
 * is callable from anywhere (store actions included), so the queue is one per page: the default
 * toaster below; `createToaster` exists for tests and for a second, independent region.
 */
import { type Component, For } from "solid-js"
import { createStore, produce } from "solid-js/store"
import { IconButton } from "./Button.js"
import { CloseIcon } from "./Icons.js"

export type ToastKind = "info" | "success" | "warning" | "error"

export interface ToastItem {
  readonly id: number
  readonly message: string
  readonly kind: ToastKind
}

/** How long a toast stays; errors longer, since they usually need reading. */
const LIFETIME_MS: Record<ToastKind, number> = { info: 4000, success: 4000, warning: 6000, error: 8000 }
/** At most this many at once: the oldest goes first. */
const MAX_TOASTS = 4

export const createToaster = (timers: { setTimeout: (f: () => void, ms: number) => unknown } = globalThis) => {
  const [toasts, setToasts] = createStore<Array<ToastItem>>([])
  let next = 1
  const dismiss = (id: number) => setToasts((list) => list.filter((t) => t.id !== id))
  const toast = (message: string, kind: ToastKind = "info") => {
    const id = next++
    setToasts(produce((list) => {
      list.push({ id, message, kind })
      if (list.length > MAX_TOASTS) list.splice(0, list.length - MAX_TOASTS)
    }))
    timers.setTimeout(() => dismiss(id), LIFETIME_MS[kind])
    return id
  }
  return { toasts, toast, dismiss } as const
}

export type Toasts = ReturnType<typeof createToaster>

const pageToaster = createToaster()

/** Shows a toast on the page's Toaster. */
export const toast = pageToaster.toast

/** The region that shows the toasts; mount once per page. */
export const Toaster: Component<{ readonly toaster?: Toasts }> = (props) => {
  const toaster = () => props.toaster ?? pageToaster
  return (
    <div class="ui-toaster" aria-live="polite">
      <For each={toaster().toasts}>
        {(item) => (
          <div class={`ui-toast ui-toast--${item.kind}`} role={item.kind === "error" ? "alert" : "status"}>
            <span>{item.message}</span>
            <IconButton label="Dismiss" size="small" onClick={() => toaster().dismiss(item.id)}>
              <CloseIcon />
            </IconButton>
          </div>
        )}
      </For>
    </div>
  )
}
