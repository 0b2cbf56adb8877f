/**
 * The floor of the benchmarks: the least a proxy in Node can do, so a reader sees what this machine costs next
 * to what the balancer costs. `node --import tsx scripts/lib/bare-proxy.ts <upstream origin>` listens on a free
 * loopback port and prints `bare proxy listening on http://127.0.0.1:<port>`. Each request (a POST, as every
 * generation request is): its body read whole, sent on the same path with its content type through one undici
 * `Pool` to the upstream (undici as the balancer uses it: `Pool.request`, pipelining 1, aborted when the client
 * goes), the answer's status and content type passed back and its body written to the client chunk by chunk
 * as it comes. No parsing, routing, accounting or logging.
 */
import { once } from "node:events"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { createRequire } from "node:module"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
// undici is a dependency of the balancer, not of the root package: its types and its code come from there.
import type * as Undici from "../../apps/balancer/node_modules/undici/index.js"
import { type Child, type Children, waitForLine } from "./children.js"
import { repoRoot, tsNodeArgs } from "./stack.js"

/** As many connections to the upstream as the balancer's default LB_MAX_CONNECTIONS. */
const CONNECTIONS = 500

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    req.on("error", reject)
  })

const serve = (pool: Undici.Pool) => async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
  const abort = new AbortController()
  res.once("close", () => {
    if (!res.writableFinished) abort.abort()
  })
  try {
    const body = await readBody(req)
    const upstream = await pool.request({
      path: req.url ?? "/",
      method: "POST",
      headers: { "content-type": req.headers["content-type"] ?? "application/json" },
      body,
      signal: abort.signal
    })
    res.writeHead(upstream.statusCode, { "content-type": upstream.headers["content-type"] ?? "application/json" })
    for await (const chunk of upstream.body) {
      if (!res.write(chunk)) await once(res, "drain")
    }
    res.end()
  } catch {
    if (!res.headersSent) res.writeHead(502)
    res.end()
  }
}

const main = (): void => {
  const origin = process.argv[2]
  if (origin === undefined) throw new Error("usage: bare-proxy.ts <upstream origin>")
  const undici = createRequire(join(repoRoot, "apps", "balancer", "package.json"))("undici") as typeof Undici
  const pool = new undici.Pool(origin, { connections: CONNECTIONS, pipelining: 1 })
  const handle = serve(pool)
  const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => void handle(req, res))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    process.stdout.write(`bare proxy listening on http://127.0.0.1:${port}\n`)
  })
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      server.closeAllConnections()
      server.close()
      void pool.destroy().then(() => process.exit(0))
    })
  }
}

export interface BareProxyProcess {
  readonly child: Child
  /** `http://127.0.0.1:<port>`: the upstream's paths, proxied (e.g. `/v1/chat/completions`). */
  readonly url: string
}

/** Starts the bare proxy in front of `upstreamOrigin` (`http://127.0.0.1:<port>`) in its own process; `env` adds to ours. */
export const startBareProxy = async (
  children: Children,
  upstreamOrigin: string,
  env: NodeJS.ProcessEnv = {}
): Promise<BareProxyProcess> => {
  const child = children.spawn("bare proxy", process.execPath, tsNodeArgs("scripts/lib/bare-proxy.ts", [upstreamOrigin]), {
    cwd: repoRoot,
    env: { ...process.env, ...env }
  })
  const match = await waitForLine(child, /^bare proxy listening on (http:\/\/\S+)$/, 20_000)
  return { child, url: match[1]! }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main()
  } catch (e) {
    process.stderr.write(`bare-proxy: ${e instanceof Error ? e.stack : String(e)}\n`)
    process.exit(1)
  }
}
