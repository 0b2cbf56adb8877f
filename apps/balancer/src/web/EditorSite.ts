/**
 * The flow editor's built files (apps/web/dist/editor, or LB_WEB_DIR) at /admin and below, apart
 * from the admin API: hashed assets cached for good, the page revalidated, an SPA fallback, a strict
 * CSP and pre-compressed siblings (packages/static). Until the web app is built, /admin answers 503
 * with the command that builds it.
 */
import { serveStatic, type StaticHandler } from "@llmlb/static"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { LbConfig } from "../Config.js"

export class EditorSite extends Effect.Service<EditorSite>()("EditorSite", {
  effect: Effect.gen(function*() {
    const { webDir } = yield* LbConfig
    if (existsSync(join(webDir, "index.html"))) yield* Effect.logInfo(`editor: serving ${webDir} at /admin`)
    else yield* Effect.logWarning(`editor: not built (no index.html in ${webDir}): /admin answers 503 until corepack pnpm build`)
    const handle: StaticHandler = serveStatic({
      root: webDir,
      basePath: "/admin",
      notBuiltMessage: "editor not built: run corepack pnpm build"
    })
    return { handle } as const
  })
}) {}
