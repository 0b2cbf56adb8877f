/**
 * A high-resolution wait: a timer to about 1.5 ms before the due time (Node's timers fire late by up to a
 * millisecond or more and round), then `setImmediate` turns until `performance.now()` reaches it. Each
 * turn lets pending I/O run, so streams are read while the pacer waits; a time already past fires on the
 * next turn.
 */
const EARLY_MS = 1.5

export const waitUntil = (due: number, fire: () => void): { cancel(): void } => {
  let timer: NodeJS.Timeout | undefined
  let immediate: NodeJS.Immediate | undefined
  const spin = () => {
    timer = undefined
    if (performance.now() >= due) {
      immediate = undefined
      fire()
    } else {
      immediate = setImmediate(spin)
    }
  }
  const lead = due - performance.now()
  // never fires before returning: a caller that waits again from `fire` must not nest a call per wait
  if (lead > EARLY_MS + 0.5) timer = setTimeout(spin, lead - EARLY_MS)
  else immediate = setImmediate(spin)
  return {
    cancel() {
      if (timer !== undefined) clearTimeout(timer)
      if (immediate !== undefined) clearImmediate(immediate)
    }
  }
}
