/**
 * Every `LB_*` setting, read once at start through Effect `Config`. A bad value stops start-up with an
 * error that names the variable.
 */
import { Address } from "@llmlb/core"
import { Config, ConfigError, Effect, Either, LogLevel, Option, Redacted } from "effect"
import { existsSync } from "node:fs"
import { hostname } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const DEFAULT_ADMIN_TOKEN = "change-me-admin-token"

const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be an integer greater than 0`, validation: (n) => n > 0 })
  )

const nonNegativeInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be an integer of 0 or more`, validation: (n) => n >= 0 })
  )

const positiveSeconds = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.withDefault(fallback),
    Config.validate({
      message: `${name} must be a number of seconds greater than 0`,
      validation: (n) => Number.isFinite(n) && n > 0
    })
  )

const nonNegativeNumber = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a number of 0 or more`, validation: (n) => Number.isFinite(n) && n >= 0 })
  )

const fraction = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a number from 0 to 1`, validation: (n) => n >= 0 && n <= 1 })
  )

/** A comma-separated list; blanks dropped. */
const list = (name: string, fallback: string) =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.map((s) => s.split(",").map((item) => item.trim()).filter((item) => item !== ""))
  )

const logLevels: Record<string, LogLevel.LogLevel> = {
  DEBUG: LogLevel.Debug,
  INFO: LogLevel.Info,
  WARNING: LogLevel.Warning,
  WARN: LogLevel.Warning,
  ERROR: LogLevel.Error
}

const logLevel = Config.string("LB_LOG_LEVEL").pipe(
  Config.withDefault("INFO"),
  Config.mapOrFail((s) => {
    const level = logLevels[s.toUpperCase()]
    return level === undefined
      ? Either.left(ConfigError.InvalidData(["LB_LOG_LEVEL"], "LB_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"))
      : Either.right(level)
  })
)

/** Addresses and CIDR blocks whose X-Forwarded-For is believed (see http/ClientAddress.ts). */
const trustedProxies = list("LB_TRUSTED_PROXIES", "").pipe(
  Config.mapOrFail((entries) => {
    const ranges = entries.map((entry) => Address.parseRange(entry))
    const invalid = entries.find((_, i) => ranges[i] === undefined)
    return invalid === undefined
      ? Either.right(ranges as ReadonlyArray<Address.AddressRange>)
      : Either.left(ConfigError.InvalidData(
        ["LB_TRUSTED_PROXIES"],
        `LB_TRUSTED_PROXIES must list IP addresses or CIDR blocks (like 10.0.0.0/8 or fd00::/8), not ${JSON.stringify(invalid)}`
      ))
  })
)

/**
 * apps/web/dist/editor beside this app: found from this module's own file (src/Config.ts, or the
 * bundled dist/main.js), whose nearest folder with a package.json is apps/balancer; else from the
 * working directory.
 */
const defaultWebDir = () => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "..", "web", "dist", "editor")
  }
  return resolve("apps/web/dist/editor")
}

const port = Config.integer("LB_PORT").pipe(
  Config.withDefault(8090),
  Config.validate({ message: "LB_PORT must be an integer from 0 to 65535", validation: (n) => n >= 0 && n <= 65535 })
)

export const LbConfigSchema = Config.all({
  port,
  host: Config.string("LB_HOST").pipe(Config.withDefault("0.0.0.0")),
  adminToken: Config.redacted("LB_ADMIN_TOKEN").pipe(
    Config.withDefault(Redacted.make(DEFAULT_ADMIN_TOKEN)),
    Config.validate({ message: "LB_ADMIN_TOKEN must not be empty", validation: (t) => Redacted.value(t) !== "" })
  ),
  clientTokens: list("LB_CLIENT_TOKENS", ""),
  dbPath: Config.string("LB_DB_PATH").pipe(Config.withDefault("./data/load_balancer.db")),
  /** postgres://... switches the store to PostgreSQL (several replicas); LB_DB_PATH is then ignored. */
  databaseUrl: Config.option(Config.redacted("LB_DATABASE_URL")).pipe(
    Config.map(Option.filter((url) => Redacted.value(url).trim() !== ""))
  ),
  /** This process's name among several replicas: /health, the audit log, the metrics' replica label. */
  replicaId: Config.string("LB_REPLICA_ID").pipe(
    Config.withDefault(""),
    Config.map((id) => id.trim() === "" ? `${hostname()}-${process.pid}` : id.trim())
  ),
  /** PostgreSQL: seconds between full reloads of the configuration (the safety net under LISTEN/NOTIFY). */
  configReloadSeconds: positiveSeconds("LB_CONFIG_RELOAD_SECONDS", 5),
  /** redis://...: client tokens' rpm/tpm limits and the admin rate limit are counted there, shared by every replica. */
  redisUrl: Config.option(Config.redacted("LB_REDIS_URL")).pipe(
    Config.map(Option.filter((url) => Redacted.value(url).trim() !== ""))
  ),
  /** Redis unreachable: `open` admits requests that need a limit (warned, counted), `closed` answers them 503. */
  redisFailure: Config.literal("open", "closed")("LB_REDIS_FAILURE").pipe(Config.withDefault("open" as const)),
  /** Milliseconds a Redis call may take before the failure policy applies. */
  redisTimeoutMs: positiveInt("LB_REDIS_TIMEOUT_MS", 100),
  logLevel,
  failThreshold: positiveInt("LB_FAIL_THRESHOLD", 3),
  cooldownSeconds: positiveSeconds("LB_COOLDOWN_SECONDS", 20),
  defaultTimeoutSeconds: positiveSeconds("LB_DEFAULT_TIMEOUT_SECONDS", 120),
  drainTimeoutSeconds: positiveSeconds("LB_DRAIN_TIMEOUT_SECONDS", 30),
  maxConnections: positiveInt("LB_MAX_CONNECTIONS", 500),
  maxKeepalive: nonNegativeInt("LB_MAX_KEEPALIVE", 200),
  cacheMaxEntries: nonNegativeInt("LB_CACHE_MAX_ENTRIES", 5000),
  cacheTtlSeconds: positiveSeconds("LB_CACHE_TTL_SECONDS", 300),
  cacheMaxBytes: positiveInt("LB_CACHE_MAX_BYTES", 64 * 1024 * 1024),
  cacheMode: Config.literal("off", "deterministic", "all")("LB_CACHE_MODE").pipe(Config.withDefault("deterministic" as const)),
  adminRateLimitRpm: positiveInt("LB_ADMIN_RATE_LIMIT_RPM", 300),
  trustedProxies,
  corsOrigins: list("LB_CORS_ORIGINS", "*"),
  maxRequestBodyBytes: positiveInt("LB_MAX_REQUEST_BODY_BYTES", 10 * 1024 * 1024),
  defaultMaxTokens: positiveInt("LB_DEFAULT_MAX_TOKENS", 256),
  modelsRefreshSeconds: positiveSeconds("LB_MODELS_REFRESH_SECONDS", 60),
  quotaWindowSeconds: positiveInt("LB_QUOTA_WINDOW_SECONDS", 300),
  queueMax: nonNegativeInt("LB_QUEUE_MAX", 1000),
  queueTimeoutSeconds: positiveSeconds("LB_QUEUE_TIMEOUT_SECONDS", 30),
  maxAttempts: positiveInt("LB_MAX_ATTEMPTS", 3),
  statsFlushSeconds: positiveSeconds("LB_STATS_FLUSH_SECONDS", 5),
  /** Audit entries older than this many days are deleted; 0 keeps them forever. */
  auditRetentionDays: nonNegativeInt("LB_AUDIT_RETENTION_DAYS", 90),
  /** At most this many audit entries are kept (the newest); 0 = no bound. */
  auditMaxRows: nonNegativeInt("LB_AUDIT_MAX_ROWS", 100_000),
  /** Routing mode load: seconds between scrapes of each endpoint's engine metrics; 0 = off. */
  engineMetricsSeconds: nonNegativeNumber("LB_ENGINE_METRICS_SECONDS", 1),
  /** Routing mode load: a request goes where its prefix is cached when at least this share of it is. */
  affinityMinMatch: fraction("LB_AFFINITY_MIN_MATCH", 0.8),
  /** ...unless its estimated time to first token there exceeds the best other's by more than this. */
  affinityMaxPenaltyMs: nonNegativeNumber("LB_AFFINITY_MAX_PENALTY_MS", 2000),
  /** An endpoint whose fresh engine queue exceeds this is saturated. */
  saturationQueue: nonNegativeInt("LB_SATURATION_QUEUE", 5),
  /** The prefill rate an endpoint is assumed to have until one is learned from its answers. */
  prefillTokensPerSecond: Config.number("LB_PREFILL_TOKENS_PER_SECOND").pipe(
    Config.withDefault(10_000),
    Config.validate({ message: "LB_PREFILL_TOKENS_PER_SECOND must be a number greater than 0", validation: (n) => Number.isFinite(n) && n > 0 })
  ),
  /** Requests carrying this header stick to the endpoint that served their session (empty = off). */
  sessionHeader: Config.string("LB_SESSION_HEADER").pipe(Config.withDefault("x-session-id"), Config.map((s) => s.trim().toLowerCase())),
  /** Priority mode: a saturated endpoint overflows to the next priority like a full one. */
  priorityOverflowOnSaturation: Config.boolean("LB_PRIORITY_OVERFLOW_ON_SATURATION").pipe(Config.withDefault(false)),
  /** The built editor served at /admin. */
  webDir: Config.option(Config.string("LB_WEB_DIR")).pipe(Config.map(Option.getOrElse(defaultWebDir)))
})

export type LbConfigShape = Config.Config.Success<typeof LbConfigSchema>

export class LbConfig extends Effect.Service<LbConfig>()("LbConfig", { effect: LbConfigSchema }) {}

/** Said at start (App.ts runs it once the JSON logger is in place, so that it is a JSON line like every other). */
export const warnOfWeakAdminToken = Effect.gen(function*() {
  const token = Redacted.value((yield* LbConfig).adminToken)
  if (token === DEFAULT_ADMIN_TOKEN || token.length < 16) {
    yield* Effect.logWarning(
      "LB_ADMIN_TOKEN is the default or shorter than 16 characters: set a strong random value before exposing the admin API"
    )
  }
})
