/**
 * `corepack pnpm sim --port 9001 --model m1 --model m2 --ttft-ms 50 --itl-ms 10 ...`: runs a simulated vLLM
 * server until SIGINT/SIGTERM. Prints the URL on stdout (`--port 0` prints the port it got). Usage errors exit 2.
 */
import { CliError, parseCli, usage } from "./CliArgs.js"
import { startSim } from "./Sim.js"

const main = async (): Promise<void> => {
  let command
  try {
    command = parseCli(process.argv.slice(2))
  } catch (e) {
    if (!(e instanceof CliError)) throw e
    process.stderr.write(`upstream-sim: ${e.message}\nTry --help.\n`)
    process.exit(2)
  }
  if (command.kind === "help") {
    process.stdout.write(`${usage}\n`)
    return
  }
  const sim = await startSim(command.options)
  const o = sim.options
  process.stdout.write(
    `upstream-sim listening on ${sim.url} (OpenAI base URL ${sim.baseUrl}; models ${o.models.join(", ")}; ` +
      `ttft ${o.ttftMs} ms, itl ${o.interTokenMs} ms, ${o.outputTokens} tokens, ` +
      `max concurrency ${o.maxConcurrency === 0 ? "unlimited" : o.maxConcurrency}; fault ${o.fault.kind})\n`
  )
  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    process.stdout.write(`upstream-sim: ${signal}, closing\n`)
    void sim.close().then(() => process.exit(0))
  }
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
}

main().catch((e: unknown) => {
  process.stderr.write(`upstream-sim: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
