/** Keyboard focus helpers shared by dialogs and panels. */

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type=hidden])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "[tabindex]:not([tabindex='-1'])"
].join(",")

/** The elements Tab reaches inside a container, in document order. */
export const focusables = (container: HTMLElement): Array<HTMLElement> =>
  Array.from(container.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => el.getClientRects().length > 0)

/** Focuses the element marked `data-autofocus`, else the first focusable one, else the container. */
export const focusFirst = (container: HTMLElement) => {
  const target = container.querySelector<HTMLElement>("[data-autofocus]") ?? focusables(container)[0] ?? container
  target.focus()
}

/** Keeps Tab and Shift+Tab cycling inside the container (a modal dialog's focus trap). */
export const trapTab = (container: HTMLElement, event: KeyboardEvent) => {
  if (event.key !== "Tab") return
  const items = focusables(container)
  const first = items[0]
  const last = items[items.length - 1]
  if (first === undefined || last === undefined) {
    event.preventDefault()
    return
  }
  const active = document.activeElement
  if (event.shiftKey && (active === first || !container.contains(active))) {
    event.preventDefault()
    last.focus()
  } else if (!event.shiftKey && (active === last || !container.contains(active))) {
    event.preventDefault()
    first.focus()
  }
}
