/**
 * Every `LP_*` setting, read once at start through Effect `Config`. A bad value stops start-up with an
 * error that names the variable.
 */
import { Endpoint } from "@llmlb/core"
import { Config, ConfigError, Effect, Either, LogLevel, Option, Redacted } from "effect"

const port = Config.integer("LP_PORT").pipe(
  Config.withDefault(8088),
  Config.validate({ message: "LP_PORT must be an integer from 0 to 65535", validation: (n) => n >= 0 && n <= 65535 })
)

const defaultBaseUrl = Config.string("LP_DEFAULT_BASE_URL").pipe(
  Config.withDefault("http://localhost:8090/v1"),
  Config.mapOrFail((s) => {
    const url = Endpoint.normalizeBaseUrl(s)
    return typeof url === "string"
      ? Either.right(url)
      : Either.left(ConfigError.InvalidData(["LP_DEFAULT_BASE_URL"], `LP_DEFAULT_BASE_URL: ${url.error}`))
  })
)

/** The balancer's names (LB_LOG_LEVEL), so one value serves both; any case. */
const LEVEL_NAMES = ["DEBUG", "INFO", "WARNING", "WARN", "ERROR"] as const

const logLevel = Config.string("LP_LOG_LEVEL").pipe(
  Config.withDefault("INFO"),
  Config.map((s) => s.toUpperCase()),
  Config.validate({
    message: "LP_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR",
    validation: (s): s is (typeof LEVEL_NAMES)[number] => (LEVEL_NAMES as ReadonlyArray<string>).includes(s)
  }),
  Config.map((s) => (s === "DEBUG" ? LogLevel.Debug : s === "INFO" ? LogLevel.Info : s === "ERROR" ? LogLevel.Error : LogLevel.Warning))
)

export const LpConfigSchema = Config.all({
  port,
  /** Loopback by default: a server that sends traffic wherever it is told must not be an open relay. */
  host: Config.string("LP_HOST").pipe(Config.withDefault("127.0.0.1")),
  dbPath: Config.string("LP_DB_PATH").pipe(Config.withDefault("./data/load_producer.db")),
  defaultBaseUrl,
  token: Config.option(Config.redacted("LP_TOKEN")).pipe(
    Config.map(Option.filter((t) => Redacted.value(t) !== ""))
  ),
  maxStoredRequests: Config.integer("LP_MAX_STORED_REQUESTS").pipe(
    Config.withDefault(100_000),
    Config.validate({ message: "LP_MAX_STORED_REQUESTS must be an integer of 0 or more", validation: (n) => n >= 0 })
  ),
  logLevel,
  /** The built producer page; absent in development and tests, then `/` answers 404. */
  webDir: Config.string("LP_WEB_DIR").pipe(Config.withDefault(""))
})

export type LpConfigShape = Config.Config.Success<typeof LpConfigSchema>

export class LpConfig extends Effect.Service<LpConfig>()("LpConfig", {
  effect: Effect.gen(function*() {
    const config = yield* LpConfigSchema
    if (Option.isNone(config.token) && config.host !== "127.0.0.1" && config.host !== "localhost" && config.host !== "::1") {
      yield* Effect.logWarning(
        `LP_HOST is ${config.host} and LP_TOKEN is not set: anyone who reaches this port can send load to any URL. Set LP_TOKEN.`
      )
    }
    return config
  })
}) {}
