/**
 * The circuit breaker of one endpoint, as a pure state machine over explicit time (milliseconds).
 *
 * closed: traffic flows; consecutive failures are counted, a success resets them.
 * open: after `threshold` consecutive failures, no traffic until the cooldown ends (at least the
 *   upstream's Retry-After).
 * half-open: the cooldown is over; one probe request is let through. Its success closes the breaker,
 *   its failure opens it again for a full cooldown.
 */

export interface CooldownState {
  readonly failures: number
  /** When the cooldown ends; 0 when the breaker never opened since the last success. */
  readonly openUntil: number
  /** A half-open probe is in flight. */
  readonly probing: boolean
}

export interface CooldownSettings {
  readonly threshold: number
  readonly cooldownMs: number
}

export type Phase = "closed" | "open" | "half-open"

export const closed: CooldownState = { failures: 0, openUntil: 0, probing: false }

export const phase = (state: CooldownState, now: number): Phase =>
  state.openUntil === 0 ? "closed" : now < state.openUntil ? "open" : "half-open"

/** Whether a request may be sent now: closed, or half-open with no probe out yet. */
export const canSend = (state: CooldownState, now: number): boolean => {
  const p = phase(state, now)
  return p === "closed" || (p === "half-open" && !state.probing)
}

/** A request is sent: in half-open (or when forced while open) it is the probe. */
export const onSend = (state: CooldownState, now: number): CooldownState =>
  phase(state, now) === "closed" ? state : { ...state, probing: true }

export const onSuccess = (_state: CooldownState): CooldownState => closed

export const onFailure = (
  state: CooldownState,
  now: number,
  settings: CooldownSettings,
  retryAfterMs = 0
): CooldownState => {
  const failures = state.failures + 1
  // A failed probe re-opens at once; a closed breaker opens at the threshold.
  if (state.probing || failures >= settings.threshold) {
    return { failures, openUntil: now + Math.max(settings.cooldownMs, retryAfterMs), probing: false }
  }
  return { ...state, failures }
}

/** A request that ended with neither verdict (the client went away): a probe slot is freed. */
export const onAbandon = (state: CooldownState): CooldownState => (state.probing ? { ...state, probing: false } : state)

/** Seconds until the cooldown ends (0 unless open). */
export const remainingSeconds = (state: CooldownState, now: number): number =>
  phase(state, now) === "open" ? Math.ceil((state.openUntil - now) / 100) / 10 : 0
