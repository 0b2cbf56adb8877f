/**
 * A card's form and the engine's settings: the fields a card edits, their inline validation, and the
 * JSON the producer's `POST /api/runs` and profiles take (the engine's RunSettings, snake_case).
 * Pure: unit-tested without a browser.
 */

/** What a card edits. Empty numbers are null; empty strings mean "not set". */
export interface CardForm {
  readonly base_url: string
  readonly api_key: string
  readonly model: string
  readonly route: "chat" | "completions"
  readonly stream: boolean
  readonly prompt: string
  readonly input_tokens: number | null
  readonly max_tokens: number | null
  /** Closed loop: this many streams. Beside a rate: the cap on requests in flight (empty = none). */
  readonly concurrency: number | null
  /** Open loop: Poisson arrivals at this rate; empty = closed loop. */
  readonly rate: number | null
  readonly requests: number | null
  readonly duration: number | null
  /** Settings a profile or preset carried that the card has no field for (ramp, warm-up, goodput, ...): kept as they are. */
  readonly extra: Readonly<Record<string, unknown>>
}

export const defaultForm = (baseUrl: string): CardForm => ({
  base_url: baseUrl,
  api_key: "",
  model: "",
  route: "chat",
  stream: true,
  prompt: "",
  input_tokens: null,
  max_tokens: 128,
  concurrency: 4,
  rate: null,
  requests: 100,
  duration: null,
  extra: {}
})

export type FormErrors = Partial<Record<keyof CardForm, string>>

const positiveInt = (value: number | null) => value !== null && Number.isInteger(value) && value > 0

/** Inline validation: a message per field that is wrong, keyed by the field. */
export const validate = (form: CardForm): FormErrors => {
  const errors: Record<string, string> = {}
  if (!/^https?:\/\/[^/\s]+/.test(form.base_url.trim())) errors["base_url"] = "an http(s) URL such as http://127.0.0.1:8090/v1"
  if (form.max_tokens !== null && !positiveInt(form.max_tokens)) errors["max_tokens"] = "a whole number above 0"
  if (form.input_tokens !== null && !positiveInt(form.input_tokens)) errors["input_tokens"] = "a whole number above 0"
  const ramp = "ramp" in form.extra
  if (form.concurrency !== null && !positiveInt(form.concurrency)) errors["concurrency"] = "a whole number above 0"
  else if (form.rate === null && form.concurrency === null && !ramp) errors["concurrency"] = "set Concurrency or Rate (req/s)"
  if (form.rate !== null && !(form.rate > 0)) errors["rate"] = "requests a second, above 0"
  if (form.requests !== null && !positiveInt(form.requests)) errors["requests"] = "a whole number above 0"
  if (form.duration !== null && !(form.duration > 0)) errors["duration"] = "seconds, above 0"
  if (form.requests === null && form.duration === null) errors["requests"] = "set Requests or Duration (s)"
  return errors as FormErrors
}

const set = <K extends string, V>(key: K, value: V | null | undefined): Partial<Record<K, V>> =>
  value === null || value === undefined || value === "" ? {} : ({ [key]: value } as Record<K, V>)

/** The load settings of a form, without where they go (base URL, key, model, route): a profile's settings. */
export const loadSettings = (form: CardForm): Record<string, unknown> => ({
  ...form.extra,
  stream: form.stream,
  ...set("prompt", form.prompt.trim()),
  ...set("input_tokens", form.input_tokens),
  ...set("max_tokens", form.max_tokens),
  ...set("concurrency", form.concurrency),
  ...set("rate", form.rate),
  ...set("requests", form.requests),
  ...set("duration", form.duration)
})

/** The body of `POST /api/runs`: the engine's settings and the card's name as the run's label. */
export const runBody = (form: CardForm, label: string): Record<string, unknown> => ({
  base_url: form.base_url.trim(),
  ...set("api_key", form.api_key),
  ...set("model", form.model.trim()),
  route: form.route,
  ...loadSettings(form),
  label
})

const KNOWN = new Set(["stream", "prompt", "input_tokens", "max_tokens", "concurrency", "rate", "requests", "duration", "model", "route"])

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null)

/** A form with a profile's or preset's settings applied (where it sends stays the card's unless the profile says). */
export const applySettings = (form: CardForm, settings: Readonly<Record<string, unknown>>): CardForm => {
  const extra: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(settings)) if (!KNOWN.has(key)) extra[key] = value
  return {
    ...form,
    model: typeof settings["model"] === "string" ? settings["model"] : form.model,
    route: settings["route"] === "completions" ? "completions" : settings["route"] === "chat" ? "chat" : form.route,
    stream: typeof settings["stream"] === "boolean" ? settings["stream"] : true,
    prompt: typeof settings["prompt"] === "string" ? settings["prompt"] : "",
    input_tokens: num(settings["input_tokens"]),
    max_tokens: num(settings["max_tokens"]) ?? 128,
    concurrency: num(settings["concurrency"]),
    rate: num(settings["rate"]),
    requests: num(settings["requests"]),
    duration: num(settings["duration"]),
    extra
  }
}
