/**
 * Several replicas on PostgreSQL: every admin mutation made here is announced on the channel
 * `lb_config` (NOTIFY, payload = this replica's id), and every announcement from another replica makes
 * this one reload its configuration (topology and client tokens) from the database. A full reload every
 * LB_CONFIG_RELOAD_SECONDS is the safety net for a lost notification, and a listener that loses its
 * connection reconnects and reloads. Nothing runs on SQLite (one process owns the file).
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option, Redacted, Runtime, Schedule } from "effect"
import pg, { type Client as PgListenClient } from "pg"
import { LbConfig } from "../Config.js"
import { Audit } from "../observability/Audit.js"
import { ClientTokens } from "../protection/ClientTokens.js"
import { Topology } from "../store/Topology.js"

export const CONFIG_CHANNEL = "lb_config"
const RECONNECT_MS = 500

export class ConfigSync extends Effect.Service<ConfigSync>()("ConfigSync", {
  scoped: Effect.gen(function*() {
    const { configReloadSeconds, databaseUrl, replicaId } = yield* LbConfig
    const topology = yield* Topology
    const tokens = yield* ClientTokens
    const audit = yield* Audit
    const sql = yield* SqlClient.SqlClient
    let reloads = 0

    // A failed reload (database away) keeps the configuration in memory: proxying goes on from it.
    const reloadOnce = Effect.zipRight(topology.reload, tokens.reload).pipe(
      Effect.tap(() => Effect.sync(() => void reloads++)),
      Effect.catchAllCause((cause) => Effect.logWarning("configuration reload failed", cause))
    )
    if (Option.isNone(databaseUrl)) return { reloads: () => reloads } as const
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)

    // One reload at a time, so an older snapshot never lands after a newer one; announcements that
    // arrive during a reload make one more (it reads what they announced), not one each.
    let reloading = false
    let again = false
    // (the check for another round and the end of `reloading` are one synchronous step: none is missed)
    const reloadLoop = (): Effect.Effect<void> =>
      Effect.suspend(() => {
        again = false
        return reloadOnce
      }).pipe(Effect.zipRight(Effect.suspend(() => {
        if (again) return reloadLoop()
        reloading = false
        return Effect.void
      })))
    const reload = () => {
      if (reloading) {
        again = true
        return
      }
      reloading = true
      runFork(reloadLoop())
    }

    const notify = sql`SELECT pg_notify(${CONFIG_CHANNEL}, ${replicaId})`.pipe(
      Effect.timeout(Duration.seconds(3)),
      Effect.catchAllCause((cause) => Effect.logWarning("configuration change not announced", cause))
    )
    // Announced before the answer: a change acknowledged to the client reaches the other replicas even
    // when this one dies right after.
    const removeListener = audit.onMutation(() => notify)
    yield* Effect.addFinalizer(() => Effect.sync(removeListener))

    // The listener is a plain client of its own (the pool's connections come and go): on any error it
    // is dropped, and the next one reloads once it listens, to catch what was missed meanwhile.
    let client: PgListenClient | undefined
    let closed = false
    let timer: NodeJS.Timeout | undefined
    const connect = () => {
      if (closed) return
      const next = new pg.Client({
        connectionString: Redacted.value(databaseUrl.value),
        connectionTimeoutMillis: 3_000,
        application_name: `llmlb-listen-${replicaId}`
      })
      let failed = false
      const retry = () => {
        if (failed) return
        failed = true
        if (client === next) client = undefined
        next.end().catch(() => undefined)
        if (!closed) timer = setTimeout(connect, RECONNECT_MS)
      }
      next.on("error", retry)
      next.on("end", retry)
      next.on("notification", (message) => {
        if (message.payload !== replicaId) reload()
      })
      next.connect()
        .then(() => next.query(`LISTEN ${CONFIG_CHANNEL}`))
        .then(() => {
          if (closed) return next.end()
          client = next
          reload()
        })
        .catch(retry)
    }
    connect()
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        closed = true
        clearTimeout(timer)
        await client?.end().catch(() => undefined)
      })
    )
    yield* Effect.forkScoped(Effect.repeat(Effect.sync(reload), Schedule.spaced(Duration.seconds(configReloadSeconds))))
    return { reloads: () => reloads } as const
  })
}) {}
