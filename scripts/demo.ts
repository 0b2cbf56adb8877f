/**
 * `corepack pnpm demo`: the balancer with three simulated upstreams already wired, so a newcomer sees traffic
 * at once. Starts three upstream-sim processes of different speeds (all serving `demo-model`), then the built
 * balancer on LB_PORT (default 8090) with a throw-away SQLite database and an admin token (LB_ADMIN_TOKEN or a
 * generated one), registers the upstreams as connected endpoints (token quota 50/30/20, priority 0/1/2), sends
 * a gentle stream of streaming chat requests through it (DEMO_RPS a second, default 3, for DEMO_MINUTES, default
 * 60; 0 turns it off), starts the load producer on LP_PORT (default 8088) with a card and a profile aimed at the
 * balancer, and prints the editor's URL, the admin token and how to use the rest. Ctrl-C or SIGTERM
 * stops everything it started and removes the temp directory.
 *
 * To add a part (a producer, ...): start it after the balancer, push its lines onto `banner`, and stop it in
 * `stopParts` if it is not a child process (children stop by themselves).
 */
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { startDemoProducer } from "./lib/producer.js"
import { startSession } from "./lib/session.js"
import { adminClient, portAvailable, repoRoot, requireBuiltBalancer, startBalancer, startSimProcess } from "./lib/stack.js"
import { startTrickle, type Trickle } from "./lib/trickle.js"

const MODEL = "demo-model"
const EDITOR_INDEX = join(repoRoot, "apps", "web", "dist", "editor", "index.html")


const upstreams = [
  { name: "sim-fast", ttftMs: 20, itlMs: 5, quota: 50, priority: 0 },
  { name: "sim-medium", ttftMs: 80, itlMs: 15, quota: 30, priority: 1 },
  { name: "sim-slow", ttftMs: 200, itlMs: 40, quota: 20, priority: 2 }
] as const

const fail = (message: string): never => {
  process.stderr.write(`demo: ${message}\n`)
  process.exit(1)
}

/** A non-negative number from the environment, else `fallback`. */
const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value < 0) fail(`${name} must be a number of 0 or more, got "${process.env[name]}"`)
  return value
}

const main = async (): Promise<void> => {
  const port = Number(process.env["LB_PORT"] ?? "8090")
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`LB_PORT must be a port number, got "${process.env["LB_PORT"]}"`)
  const host = process.env["LB_HOST"] ?? "127.0.0.1"
  const adminToken = process.env["LB_ADMIN_TOKEN"] ?? randomBytes(16).toString("hex")
  const perSecond = envNumber("DEMO_RPS", 3)
  const minutes = envNumber("DEMO_MINUTES", 60)
  try {
    requireBuiltBalancer()
  } catch (e) {
    fail((e as Error).message)
  }
  if (!(await portAvailable(port, host))) {
    fail(`port ${port} on ${host} is already in use (another balancer running?). Stop it, or pick another port: LB_PORT=8091 corepack pnpm demo`)
  }

  let trickle: Trickle | undefined
  /** Stops what is not a child process; runs before the children are stopped. */
  const stopParts = () => void trickle?.stop()
  const { children, stop, stopping, tempDir } = startSession("demo", (signal) => {
    process.stdout.write(`\ndemo: ${signal}, stopping the traffic, the balancer and the simulated upstreams\n`)
    stopParts()
    return 0
  })

  try {
    const sims = await Promise.all(upstreams.map((u) =>
      startSimProcess(children, u.name, [
        "--model",
        MODEL,
        "--ttft-ms",
        String(u.ttftMs),
        "--itl-ms",
        String(u.itlMs),
        "--output-tokens",
        "64"
      ])
    ))
    const balancer = await startBalancer(children, {
      port,
      host,
      env: {
        ...process.env,
        LB_DB_PATH: join(tempDir, "load_balancer.db"),
        LB_ADMIN_TOKEN: adminToken,
        LB_LOG_LEVEL: process.env["LB_LOG_LEVEL"] ?? "WARNING",
        LB_DRAIN_TIMEOUT_SECONDS: process.env["LB_DRAIN_TIMEOUT_SECONDS"] ?? "3"
      },
      onLine: (line) => process.stderr.write(`[balancer] ${line}\n`)
    })
    const admin = adminClient(balancer.url, adminToken)
    for (const [i, u] of upstreams.entries()) {
      await admin.addEndpoint({
        name: u.name,
        base_url: sims[i]!.baseUrl,
        token_quota_percent: u.quota,
        priority_order: u.priority
      })
    }
    // The balancer dying ends the demo; an upstream dying is what the balancer is for (it fails over).
    void balancer.child.exited.then((code) => {
      if (stopping()) return
      process.stderr.write(`demo: the balancer exited unexpectedly (code ${code}):\n${balancer.child.tail()}\n`)
      void stop(1)
    })
    for (const sim of sims) {
      void sim.child.exited.then((code) => {
        if (!stopping()) process.stderr.write(`demo: ${sim.child.name} exited (code ${code}); the balancer routes around it\n`)
      })
    }
    const banner = bannerLines(port, balancer.url, adminToken, sims.map((s, i) => ({ ...upstreams[i]!, url: s.url, baseUrl: s.baseUrl })))
    // The load producer (LP_PORT, default 8088), its first card and a profile aimed at the balancer.
    banner.push(...await startDemoProducer(children, tempDir, balancer.url, MODEL))
    if (perSecond > 0 && minutes > 0) {
      trickle = startTrickle({
        url: balancer.url,
        model: MODEL,
        perSecond,
        maxInFlight: Math.max(4, Math.ceil(perSecond * 4)),
        maxRequests: Math.ceil(perSecond * minutes * 60),
        maxMs: minutes * 60_000
      })
      const { counts, done } = trickle
      void done.then(() => {
        if (!stopping()) process.stdout.write(`demo: traffic finished (${JSON.stringify(counts())}); the stack keeps running\n`)
      })
      banner.push(
        `Traffic: about ${perSecond} streaming chat requests a second for up to ${minutes} minutes ` +
          "(DEMO_RPS and DEMO_MINUTES change it, 0 turns it off).",
        ""
      )
    }
    banner.push("Ctrl-C stops everything.", "")
    process.stdout.write(banner.join("\n") + "\n")
  } catch (e) {
    process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`)
    stopParts()
    await stop(1)
  }
}

const bannerLines = (
  port: number,
  url: string,
  adminToken: string,
  sims: ReadonlyArray<(typeof upstreams)[number] & { readonly url: string; readonly baseUrl: string }>
): Array<string> => {
  const body = JSON.stringify({
    model: MODEL,
    stream: true,
    messages: [{ role: "user", content: "Say hello" }],
    max_tokens: 32
  })
  return [
    "",
    `LLM load balancer demo: ${url}`,
    "",
    `  Flow editor  http://localhost:${port}/admin` +
      (existsSync(EDITOR_INDEX) ? "" : "   (not built yet: run corepack pnpm build)"),
    `  admin token  ${adminToken}   (paste it into the editor's sign-in)`,
    "",
    "Upstreams (simulated vLLM servers, all serving model \"demo-model\"):",
    ...sims.map((s) =>
      `  ${s.name.padEnd(11)} ${s.baseUrl.padEnd(28)} ttft ${s.ttftMs} ms, itl ${s.itlMs} ms, ` +
      `token quota ${s.quota}%, priority ${s.priority}`
    ),
    "",
    `  health       ${url}/health`,
    `  metrics      ${url}/metrics`,
    `  state        ${url}/admin/api/state   (header X-Admin-Token)`,
    "",
    "A streaming chat completion:",
    `  curl -N ${url}/v1/chat/completions -H 'Content-Type: application/json' -d '${body}'`,
    "",
    "The state (endpoints, stats):",
    `  curl -s ${url}/admin/api/state -H 'X-Admin-Token: ${adminToken}'`,
    "",
    `Make ${sims[0]!.name} fail (503) to watch failover and cooldown, then heal it:`,
    `  curl -s ${sims[0]!.url}/sim/config -d '{"fault":{"kind":"status","status":503}}'`,
    `  curl -s ${sims[0]!.url}/sim/config -d '{"fault":{"kind":"none"}}'`,
    ""
  ]
}

void main()
