/**
 * A plain-Node handler for a built single-page app (what Vite writes: index.html, `assets/` with
 * content-hashed names, `.br` and `.gz` siblings): the balancer serves the editor with it at /admin,
 * the producer its page at /.
 *
 * - Hashed assets are cached for a year (`immutable`); everything else, index.html first, is
 *   revalidated on every use (`no-cache` with an ETag, 304 when unchanged).
 * - A path under the base that names no file and does not look like one (no extension) gets
 *   index.html: the app routes it. One that looks like a file gets 404.
 * - The pre-compressed sibling is sent when the client accepts it (brotli first), with
 *   `Content-Encoding` and `Vary: Accept-Encoding`.
 * - A Content-Security-Policy that allows only the page's own origin: no inline script, no CDN.
 * - GET and HEAD only (405 otherwise); `..`, `.` and NUL in the path, raw or percent-encoded, are
 *   refused with 400, and no path ever resolves outside the root.
 * - A root without index.html answers 503 with a page that says how to build it.
 */
import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http"
import { join, resolve, sep } from "node:path"
import { acceptedEncodings, type Encoding } from "./AcceptEncoding.js"
import { contentTypeOf } from "./ContentTypes.js"

/** Only the page's own origin; images may also be data: URLs (icons inlined by the build). */
export const DEFAULT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"

export const IMMUTABLE = "public, max-age=31536000, immutable"
export const REVALIDATE = "no-cache"

export interface StaticOptions {
  /** The built app's folder, holding index.html. */
  readonly root: string
  /** The URL path it is served under: "/admin" serves /admin and /admin/...; "/" serves everything. */
  readonly basePath: string
  /** Said by the 503 page while the root has no index.html. */
  readonly notBuiltMessage?: string
  readonly contentSecurityPolicy?: string
}

/** Answers the request and returns true when its path is under the base; else leaves it alone (false). */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => boolean

const SUFFIX: Record<Encoding, string> = { br: ".br", gzip: ".gz" }

/** Vite's `assets/[name]-[hash].[ext]`: a hash of 8 or more base64url characters. */
const isHashedAsset = (segments: ReadonlyArray<string>) =>
  segments.length === 2 && segments[0] === "assets" && /-[A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$/.test(segments[1]!)

/** A last segment with an extension names a file; anything else is a route of the app. */
const looksLikeFile = (segment: string | undefined) => segment !== undefined && /\.[A-Za-z0-9]+$/.test(segment)

/** The path's segments below the base, or null when it is not a path this may serve. */
const segmentsOf = (path: string): ReadonlyArray<string> | null => {
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return null
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null
  const segments = decoded.split("/").filter((segment) => segment !== "")
  return segments.some((segment) => segment === ".." || segment === ".") ? null : segments
}

const fileStat = async (path: string) => {
  try {
    const info = await stat(path)
    return info.isFile() ? info : undefined
  } catch {
    return undefined
  }
}

export const serveStatic = (options: StaticOptions): StaticHandler => {
  const root = resolve(options.root)
  const base = options.basePath.replace(/\/+$/, "")
  const csp = options.contentSecurityPolicy ?? DEFAULT_CSP
  const notBuilt = options.notBuiltMessage ?? "The web app is not built: run corepack pnpm build"
  const indexPath = join(root, "index.html")

  const plain = (req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders = {}) => {
    res.writeHead(status, {
      ...headers,
      "content-type": headers["content-type"] ?? "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
      "content-security-policy": csp
    })
    res.end(req.method === "HEAD" ? undefined : body)
  }

  const sendFile = async (req: IncomingMessage, res: ServerResponse, path: string, cacheControl: string) => {
    const info = await fileStat(path)
    if (info === undefined) return plain(req, res, 404, "Not found")
    let chosen = { path, size: info.size, mtimeMs: info.mtimeMs, encoding: undefined as Encoding | undefined }
    for (const encoding of acceptedEncodings(req.headers["accept-encoding"])) {
      const variant = await fileStat(path + SUFFIX[encoding])
      if (variant !== undefined) {
        chosen = { path: path + SUFFIX[encoding], size: variant.size, mtimeMs: variant.mtimeMs, encoding }
        break
      }
    }
    // Each encoding is its own representation: its own ETag.
    const etag = `"${chosen.size.toString(36)}-${Math.floor(chosen.mtimeMs).toString(36)}${chosen.encoding === undefined ? "" : `-${chosen.encoding}`}"`
    const headers: OutgoingHttpHeaders = {
      "cache-control": cacheControl,
      etag,
      vary: "Accept-Encoding",
      "content-security-policy": csp
    }
    const ifNoneMatch = req.headers["if-none-match"]
    if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag)) {
      res.writeHead(304, headers)
      return res.end()
    }
    res.writeHead(200, {
      ...headers,
      "content-type": contentTypeOf(path),
      "content-length": chosen.size,
      ...(chosen.encoding === undefined ? {} : { "content-encoding": chosen.encoding })
    })
    if (req.method === "HEAD") return res.end()
    createReadStream(chosen.path).on("error", () => res.destroy()).pipe(res)
  }

  const respond = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return plain(req, res, 405, `Method ${req.method} not allowed: use GET or HEAD`, { allow: "GET, HEAD" })
    }
    const segments = segmentsOf(path)
    if (segments === null) return plain(req, res, 400, "Invalid path")
    if ((await fileStat(indexPath)) === undefined) {
      const page = `<!doctype html><meta charset="utf-8"><title>Not built</title><p>${notBuilt}</p>\n`
      return plain(req, res, 503, page, { "content-type": "text/html; charset=utf-8" })
    }
    const target = join(root, ...segments)
    // Belt and braces: the segments hold no `..`, so this always holds.
    if (segments.length > 0 && !target.startsWith(root + sep)) return plain(req, res, 400, "Invalid path")
    if (segments.length > 0 && (await fileStat(target)) !== undefined) {
      return sendFile(req, res, target, isHashedAsset(segments) ? IMMUTABLE : REVALIDATE)
    }
    if (looksLikeFile(segments.at(-1))) return plain(req, res, 404, "Not found")
    return sendFile(req, res, indexPath, REVALIDATE)
  }

  return (req, res) => {
    const url = req.url ?? "/"
    const query = url.indexOf("?")
    const path = query === -1 ? url : url.slice(0, query)
    if (!path.startsWith("/") || (base !== "" && path !== base && !path.startsWith(`${base}/`))) return false
    respond(req, res, path.slice(base.length)).catch(() => {
      if (res.headersSent) res.destroy()
      else plain(req, res, 500, "Internal error")
    })
    return true
  }
}
