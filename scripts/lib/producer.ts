/**
 * Starting the built load producer (`apps/producer/dist/main.js`) for the dev scripts (start, demo) and
 * the few API calls that set it up, on loopback.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import type { Child, Children } from "./children.js"
import { postJson, repoRoot, waitUntilUp } from "./stack.js"

export const producerMain = join(repoRoot, "apps", "producer", "dist", "main.js")

/** Throws with a clear message when the producer has not been built. */
export const requireBuiltProducer = (): void => {
  if (!existsSync(producerMain)) throw new Error(`${producerMain} is missing: build it first (corepack pnpm build)`)
}

export interface ProducerProcess {
  readonly child: Child
  /** `http://127.0.0.1:<port>` */
  readonly url: string
}

export interface ProducerOptions {
  readonly port: number
  readonly host: string
  /** The whole environment of the process; LP_PORT and LP_HOST above override it. */
  readonly env: NodeJS.ProcessEnv
  readonly onLine?: (line: string) => void
}

/** Starts `node apps/producer/dist/main.js` and waits until its API answers (200, or 401 behind LP_TOKEN). */
export const startProducer = async (children: Children, options: ProducerOptions): Promise<ProducerProcess> => {
  requireBuiltProducer()
  const child = children.spawn("producer", process.execPath, [producerMain], {
    cwd: repoRoot,
    env: { ...options.env, LP_PORT: String(options.port), LP_HOST: options.host },
    ...(options.onLine === undefined ? {} : { onLine: options.onLine })
  })
  const url = `http://127.0.0.1:${options.port}`
  await waitUntilUp(child, `${url}/api/defaults`, (status) => status === 200 || status === 401)
  return { child, url }
}

/**
 * The demo's producer: on LP_PORT (default 8088) with a throw-away database in `tempDir`, new cards sending to
 * the balancer, and a model configuration and a profile for it, so that a newcomer opens the page and clicks
 * Start. Answers the banner's lines.
 */
export const startDemoProducer = async (
  children: Children,
  tempDir: string,
  balancerUrl: string,
  model: string
): Promise<Array<string>> => {
  const port = Number(process.env["LP_PORT"] ?? "8088")
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`LP_PORT must be a port number, got "${process.env["LP_PORT"]}"`)
  const token = process.env["LP_TOKEN"]
  const producer = await startProducer(children, {
    port,
    host: process.env["LP_HOST"] ?? "127.0.0.1",
    env: {
      ...process.env,
      LP_DB_PATH: join(tempDir, "load_producer.db"),
      LP_DEFAULT_BASE_URL: `${balancerUrl}/v1`,
      LP_LOG_LEVEL: process.env["LP_LOG_LEVEL"] ?? "WARNING"
    },
    onLine: (line) => process.stderr.write(`[producer] ${line}\n`)
  })
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` }
  const config = (await (await postJson(`${producer.url}/api/model-configs`, {
    name: "Demo balancer",
    base_url: `${balancerUrl}/v1`,
    model
  }, headers)).json()) as { id: string }
  await postJson(`${producer.url}/api/profiles`, {
    name: "Demo: 16 streams for 60 s",
    model_config_id: config.id,
    settings: { concurrency: 16, duration: 60, max_tokens: 64 }
  }, headers)
  return [
    `  load producer ${producer.url}   (its first card sends to the balancer: click Start;`,
    `                profile "Demo: 16 streams for 60 s" runs 16 streams through it)`,
    ""
  ]
}
