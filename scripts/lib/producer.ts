/**
 * Starting the built load producer (`apps/producer/dist/main.js`) for the dev scripts (start, demo) and
 * the few API calls that set it up, on loopback.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import type { Child, Children } from "./children.js"
import { postJson, repoRoot, sleep } from "./stack.js"

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
  const deadline = Date.now() + 30_000
  for (;;) {
    const exited = await Promise.race([child.exited.then(() => true), sleep(100).then(() => false)])
    if (exited) throw new Error(`the producer exited during start-up:\n${child.tail()}`)
    const up = await fetch(`${url}/api/defaults`, { signal: AbortSignal.timeout(2_000) })
      .then((res) => res.status === 200 || res.status === 401)
      .catch(() => false)
    if (up) return { child, url }
    if (Date.now() > deadline) throw new Error(`the producer did not answer within 30 s:\n${child.tail()}`)
  }
}

/** Saves a profile (`POST /api/profiles`) with the token when there is one; answers its id. */
export const addProfile = async (
  producerUrl: string,
  profile: { readonly name: string; readonly settings: Record<string, unknown> },
  token?: string
): Promise<string> => {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` }
  const res = await postJson(`${producerUrl}/api/profiles`, profile, headers)
  return ((await res.json()) as { id: string }).id
}
