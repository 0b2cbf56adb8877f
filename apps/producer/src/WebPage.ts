/**
 * The producer page: the built web app's `dist/producer` folder (LP_WEB_DIR, by default found beside this
 * code in the repository), served at `/` by the shared static handler (CSP, immutable hashed assets,
 * pre-compressed files, SPA fallback).
 */
import { serveStatic } from "@llmlb/static"
import { Effect } from "effect"
import type * as Http from "node:http"
import { fileURLToPath } from "node:url"
import { LpConfig } from "./Config.js"

/** apps/producer/src or apps/producer/dist -> apps/web/dist/producer. */
const defaultWebDir = () => fileURLToPath(new URL("../../web/dist/producer/", import.meta.url))

export class WebPage extends Effect.Service<WebPage>()("WebPage", {
  effect: Effect.gen(function*() {
    const { webDir } = yield* LpConfig
    const serve = serveStatic({
      root: webDir === "" ? defaultWebDir() : webDir,
      basePath: "/",
      notBuiltMessage: "The producer page is not built yet: run corepack pnpm build"
    })
    return (req: Http.IncomingMessage, res: Http.ServerResponse): void => {
      if (!serve(req, res)) {
        res.writeHead(404, { "content-type": "application/json" })
        res.end(JSON.stringify({ _tag: "NotFound", message: "not found" }))
      }
    }
  })
}) {}
