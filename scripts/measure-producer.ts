/**
 * The load producer's own cost: the built producer runs CARDS runs at once (default 4), each STREAMS
 * concurrent streams (default 50) for SECONDS (default 30) against one upstream simulator (20 ms between
 * tokens, 64 tokens a request), while its CPU (user + system, from /proc) and resident memory are sampled
 * every second. Prints the mean and peak of both and what the runs delivered.
 * `tsx scripts/measure-producer.ts` after `corepack pnpm build`. Linux only (/proc).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { startProducer } from "./lib/producer.js"
import { runInSession } from "./lib/session.js"
import { freePort, getJson, postJson, sleep, startSimProcess } from "./lib/stack.js"

const CARDS = Number(process.env["CARDS"] ?? 4)
const STREAMS = Number(process.env["STREAMS"] ?? 50)
const SECONDS = Number(process.env["SECONDS"] ?? 30)
const TICKS_PER_SECOND = 100 // USER_HZ on Linux

/** CPU seconds (user + system) and resident bytes of a process. */
const sample = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024
  return { cpu, rss }
}

runInSession("measure-producer", async ({ children, tempDir }) => {
  const sim = await startSimProcess(children, "sim", ["--itl-ms", "20", "--output-tokens", "64"])
  const producer = await startProducer(children, {
    port: await freePort(),
    host: "127.0.0.1",
    env: { PATH: process.env["PATH"], LP_DB_PATH: join(tempDir, "lp.db"), LP_LOG_LEVEL: "WARNING" }
  })
  const pid = producer.child.pid
  const ids: Array<number> = []
  for (let i = 0; i < CARDS; i++) {
    const res = await postJson(`${producer.url}/api/runs`, {
      base_url: sim.baseUrl,
      model: "sim-model",
      concurrency: STREAMS,
      duration: SECONDS,
      max_tokens: 64,
      label: `card ${i + 1}`
    })
    ids.push(((await res.json()) as { id: number }).id)
  }
  const cpuShares: Array<number> = []
  const rss: Array<number> = []
  let last = sample(pid)
  let lastAt = performance.now()
  for (;;) {
    await sleep(1_000)
    const now = sample(pid)
    const at = performance.now()
    cpuShares.push((now.cpu - last.cpu) / ((at - lastAt) / 1000))
    rss.push(now.rss)
    last = now
    lastAt = at
    const runs = await Promise.all(ids.map((id) => getJson<{ status: string }>(`${producer.url}/api/runs/${id}`)))
    if (runs.every((r) => r.status !== "running")) break
  }
  const reports = await Promise.all(ids.map((id) => getJson<{ report: Record<string, number> }>(`${producer.url}/api/runs/${id}`)))
  const sum = (key: string) => reports.reduce((total, r) => total + (r.report[key] ?? 0), 0)
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
  const steady = cpuShares.slice(2, -2) // without the ramp-up and the final write
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)
  process.stdout.write([
    `${CARDS} runs x ${STREAMS} streams for ${SECONDS} s against one simulator (20 ms between tokens, 64 tokens):`,
    `  delivered   ${sum("completed")} requests, ${sum("request_throughput").toFixed(1)} req/s, ${sum("output_throughput").toFixed(0)} output tok/s in total`,
    `  producer    CPU ${(mean(steady) * 100).toFixed(0)} % of one core on average (peak ${(Math.max(...cpuShares) * 100).toFixed(0)} %), ` +
    `memory ${mb(mean(rss))} MB resident on average (peak ${mb(Math.max(...rss))} MB)`,
    `  self-check  saturated: ${reports.map((r) => String((r.report as unknown as { self_check: { saturated: boolean } }).self_check.saturated)).join(", ")}`,
    ""
  ].join("\n"))
})
