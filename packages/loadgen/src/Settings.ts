/**
 * The settings of one load run: the CLI's flags in snake_case, the object the JSON report keeps under
 * `settings` (without the API key) and the body the producer's `POST /api/runs` accepts.
 */
import { Either, ParseResult, Schema } from "effect"

const PositiveInt = Schema.Int.pipe(Schema.positive())
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())
const PositiveNumber = Schema.Number.pipe(Schema.positive(), Schema.finite())
const NonNegativeNumber = Schema.Number.pipe(Schema.nonNegative(), Schema.finite())

/** A linear ramp from `from` to `to` over the run (its duration, or the time the request count takes). */
export const Ramp = Schema.Struct({
  from: NonNegativeNumber,
  to: NonNegativeNumber,
  /**
   * What ramps. Absent: concurrency when `concurrency` is set and `rate` is not, else the rate (a
   * `concurrency` beside a rate ramp caps the requests in flight).
   */
  of: Schema.optional(Schema.Literal("rate", "concurrency"))
})
export type Ramp = typeof Ramp.Type

export const Warmup = Schema.Union(
  Schema.Struct({ seconds: PositiveNumber }),
  Schema.Struct({ requests: PositiveInt })
)
export type Warmup = typeof Warmup.Type

/** Service-level objectives a request must meet to count in `request_goodput`. */
export const Goodput = Schema.Struct({
  ttft_ms: Schema.optional(PositiveNumber),
  tpot_ms: Schema.optional(PositiveNumber),
  e2el_ms: Schema.optional(PositiveNumber)
})
export type Goodput = typeof Goodput.Type

const withDefault = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value as () => any }) as Schema.optionalWith<S, { default: () => Schema.Schema.Type<S> }>

export const RunSettings = Schema.Struct({
  base_url: Schema.String.pipe(
    Schema.filter((s) => /^https?:\/\/[^/]/.test(s) || "must be an http(s) URL such as http://127.0.0.1:8090/v1")
  ),
  api_key: Schema.optional(Schema.String),
  model: Schema.optional(Schema.NonEmptyString),
  route: withDefault(Schema.Literal("chat", "completions"), () => "chat" as const),
  stream: withDefault(Schema.Boolean, () => true),
  prompt: Schema.optional(Schema.String),
  input_tokens: Schema.optional(PositiveInt),
  input_spread: withDefault(NonNegativeInt, () => 0),
  max_tokens: withDefault(PositiveInt, () => 128),
  temperature: Schema.optional(Schema.Number.pipe(Schema.finite())),
  ignore_eos: Schema.optional(Schema.Boolean),
  extra_body: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  continuous_usage: withDefault(Schema.Boolean, () => false),
  concurrency: Schema.optional(PositiveInt),
  rate: Schema.optional(PositiveNumber),
  burstiness: withDefault(PositiveNumber, () => 1),
  interval: Schema.optional(Schema.Boolean),
  ramp: Schema.optional(Ramp),
  requests: Schema.optional(PositiveInt),
  duration: Schema.optional(PositiveNumber),
  warmup: Schema.optional(Warmup),
  max_error_rate: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
  timeout: withDefault(PositiveNumber, () => 600),
  goodput: Schema.optional(Goodput),
  seed: withDefault(Schema.Int, () => 0),
  workers: withDefault(PositiveInt, () => 1)
})
export type RunSettings = typeof RunSettings.Type

/** What ramps in a run with a `ramp`, by the rule documented on `Ramp.of`. */
export const rampKind = (s: RunSettings): "rate" | "concurrency" | null =>
  s.ramp === undefined ? null : s.ramp.of ?? (s.concurrency !== undefined && s.rate === undefined ? "concurrency" : "rate")

/** Cross-field rules the struct cannot state; `null` when the settings are coherent. */
export const settingsProblem = (s: RunSettings): string | null => {
  const kind = rampKind(s)
  if (kind === "concurrency" && s.duration === undefined) {
    return "ramp: a concurrency ramp needs duration (the time it ramps over)"
  }
  if (kind === "rate" && s.duration === undefined && s.requests === undefined) {
    return "ramp: a rate ramp needs duration or requests"
  }
  if (kind === "concurrency" && s.ramp !== undefined && Math.max(s.ramp.from, s.ramp.to) < 1) {
    return "ramp: a concurrency ramp must reach at least 1"
  }
  if (kind === "rate" && s.ramp !== undefined && s.ramp.from + s.ramp.to <= 0) {
    return "ramp: a rate ramp needs from + to > 0"
  }
  return null
}

/**
 * Decodes settings from JSON (`RunSettings.Encoded`): the error names the field ("settings.rate: ...").
 */
export const decodeSettings = (u: unknown): Either.Either<RunSettings, string> =>
  Schema.decodeUnknownEither(RunSettings, { onExcessProperty: "error" })(u).pipe(
    Either.mapLeft((error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      return issue === undefined ? "invalid settings" : `${issue.path.join(".") || "settings"}: ${issue.message}`
    }),
    Either.flatMap((s) => {
      const problem = settingsProblem(s)
      return problem === null ? Either.right(s) : Either.left(problem)
    })
  )

/** The settings as the report keeps them: encoded, without the API key. */
export const reportedSettings = (s: RunSettings): Omit<typeof RunSettings.Encoded, "api_key"> => {
  const { api_key: _, ...rest } = Schema.encodeSync(RunSettings)(s)
  return rest
}
