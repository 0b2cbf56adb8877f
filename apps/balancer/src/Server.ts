/**
 * One node:http server, one port: `/v1/*` goes to the data plane (a plain Node handler, see DESIGN.md
 * "Data plane and control plane"), the editor's files under /admin (but not /admin/api) to a plain
 * static handler, everything else to the control plane's Effect HTTP app, past the admin API's front
 * door (rate limit, body size and type: protection/AdminGuard.ts).
 */
import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { AdminRoutes } from "./admin/Http.js"
import { LbConfig } from "./Config.js"
import { SECURITY_HEADERS, setHeaders } from "./http/SecurityHeaders.js"
import { HealthRoute } from "./observability/Health.js"
import { MetricsRoute } from "./observability/Metrics.js"
import { Lifecycle } from "./Lifecycle.js"
import { AdminGuard, isAdminApi, withBodyRules } from "./protection/AdminGuard.js"
import { Cors } from "./protection/Cors.js"
import { DataPlane } from "./proxy/DataPlane.js"
import { RoutingEngine } from "./routing/RoutingEngine.js"
import { EditorSite } from "./web/EditorSite.js"

const RootRedirect = HttpLayerRouter.add("GET", "/", HttpServerResponse.redirect("/admin", { status: 302 }))

/** `/v1` and everything below it, with or without a query. */
const isDataPlane = (url: string) =>
  url.startsWith("/v1") && (url.length === 3 || url[3] === "/" || url[3] === "?")

export const ControlPlaneRoutes = Layer.mergeAll(AdminRoutes, HealthRoute, MetricsRoute, RootRedirect)

export class BalancerServer extends Effect.Service<BalancerServer>()("BalancerServer", {
  scoped: Effect.gen(function*() {
    const config = yield* LbConfig
    const controlPlaneApp = yield* HttpLayerRouter.toHttpEffect(ControlPlaneRoutes)
    const controlPlane = yield* NodeHttpServer.makeHandler(withBodyRules(controlPlaneApp, config.maxRequestBodyBytes))
    const adminGuard = yield* AdminGuard
    const dataPlane = yield* DataPlane
    const cors = yield* Cors
    const lifecycle = yield* Lifecycle
    const routing = yield* RoutingEngine
    const editor = yield* EditorSite

    const server = Http.createServer((req, res) => {
      const url = req.url!
      const toDataPlane = isDataPlane(url)
      // The data plane writes them with its answer's own headers in one writeHead (proxy/Head.ts); a CORS
      // request gets them here, as its preflight may be answered right below.
      if (!toDataPlane || req.headers.origin !== undefined) setHeaders(res, SECURITY_HEADERS)
      if (cors.handle(req, res)) return
      if (toDataPlane) dataPlane.handle(req, res)
      else {
        adminGuard.handle(req, res, () => {
          if (isAdminApi(url) || !editor.handle(req, res)) controlPlane(req, res)
        })
      }
    })

    yield* Effect.async<void, Error>((resume) => {
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(config.port, config.host, () => resume(Effect.void))
    })
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        // Drain: refuse new and queued work, let what is in flight finish, then close.
        lifecycle.startDraining()
        routing.close()
        const inFlight = dataPlane.active()
        yield* Effect.logInfo(`draining: ${inFlight} requests in flight, waiting up to ${config.drainTimeoutSeconds} s`)
        const idle = yield* Effect.promise(() => dataPlane.idle(config.drainTimeoutSeconds * 1000))
        if (!idle) yield* Effect.logWarning(`drain timeout: closing ${dataPlane.active()} requests still in flight`)
        yield* Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
      })
    )
    const { port } = server.address() as AddressInfo
    yield* Effect.logInfo(`balancer listening on http://${config.host}:${port}`)
    return { port, url: `http://127.0.0.1:${port}` } as const
  })
}) {}
