/**
 * `corepack pnpm start`: the built balancer (LB_PORT, default 8090) and the built load producer (LP_PORT,
 * default 8088) in one terminal, each log line prefixed `[balancer]` or `[producer]`. Every LB_* and LP_*
 * variable of the environment reaches its process as it is. The producer's new cards send to this balancer
 * unless LP_DEFAULT_BASE_URL says otherwise. Ctrl-C (or SIGTERM) stops both cleanly: each drains and
 * closes its database.
 */
import { startProducer } from "./lib/producer.js"
import { startSession } from "./lib/session.js"
import { portAvailable, startBalancer } from "./lib/stack.js"

const fail = (message: string): never => {
  process.stderr.write(`start: ${message}\n`)
  process.exit(1)
}

const portOf = (name: string, fallback: number): number => {
  const port = Number(process.env[name] ?? String(fallback))
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : fail(`${name} must be a port number, got "${process.env[name]}"`)
}

const prefixed = (name: string) => (line: string) => process.stdout.write(`[${name}] ${line}\n`)

const main = async (): Promise<void> => {
  const lbPort = portOf("LB_PORT", 8090)
  const lpPort = portOf("LP_PORT", 8088)
  const lbHost = process.env["LB_HOST"] ?? "0.0.0.0"
  const lpHost = process.env["LP_HOST"] ?? "127.0.0.1"
  for (const [name, port, host] of [["LB_PORT", lbPort, lbHost], ["LP_PORT", lpPort, lpHost]] as const) {
    if (!(await portAvailable(port, host))) fail(`port ${port} (${name}) on ${host} is already in use: stop what runs there, or set ${name}`)
  }

  const { children, stop, stopping } = startSession("start", (signal) => {
    process.stdout.write(`\nstart: ${signal}, stopping the balancer and the producer\n`)
    return 0
  })
  try {
    const [balancer, producer] = await Promise.all([
      startBalancer(children, { port: lbPort, host: lbHost, env: process.env, onLine: prefixed("balancer") }),
      startProducer(children, {
        port: lpPort,
        host: lpHost,
        env: { LP_DEFAULT_BASE_URL: `http://127.0.0.1:${lbPort}/v1`, ...process.env },
        onLine: prefixed("producer")
      })
    ])
    for (const part of [balancer, producer]) {
      void part.child.exited.then((code) => {
        if (stopping()) return
        process.stderr.write(`start: the ${part.child.name} exited unexpectedly (code ${code})\n`)
        void stop(1)
      })
    }
    process.stdout.write([
      "",
      `  balancer       ${balancer.url}/v1 (OpenAI API), editor ${balancer.url}/admin`,
      `  load producer  ${producer.url}`,
      "",
      "Ctrl-C stops both.",
      ""
    ].join("\n") + "\n")
  } catch (e) {
    process.stderr.write(`start: ${e instanceof Error ? e.message : String(e)}\n`)
    await stop(1)
  }
}

void main()
