/** The `loadtest` CLI as a process: exit codes, the table, the report and CSV however the run ends. */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { until, useSim } from "./support.js"

const cliPath = new URL("../src/cli.ts", import.meta.url).pathname

interface Cli {
  readonly child: ChildProcess
  readonly exit: Promise<{ code: number | null; stdout: string; stderr: string }>
}

const runCli = (args: ReadonlyArray<string>): Cli => {
  const child = spawn(process.execPath, ["--import", "tsx", cliPath, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += d))
  child.stderr!.on("data", (d) => (stderr += d))
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  )
  return { child, exit }
}

const tempFiles = () => {
  const dir = mkdtempSync(join(tmpdir(), "loadtest-"))
  return { json: join(dir, "report.json"), csv: join(dir, "requests.csv") }
}

describe("loadtest CLI", () => {
  it("prints the table and the per-endpoint breakdown, writes JSON with vLLM's names and the CSV, exits 0", async () => {
    const sim = await useSim({ outputTokens: 4 })
    const files = tempFiles()
    const { code, stdout } = await runCli(["--base-url", sim.baseUrl, "--concurrency", "2", "--requests", "10", "--json", files.json, "--csv", files.csv]).exit
    expect(code).toBe(0)
    expect(stdout).toContain("Serving Benchmark Result")
    expect(stdout).toMatch(/Successful requests:\s+10/)
    expect(stdout).toContain("Endpoints (X-LB-Endpoint)")
    const report = JSON.parse(readFileSync(files.json, "utf8"))
    expect(Object.keys(report).slice(0, 6)).toEqual(["date", "status", "reason", "endpoint_type", "model_id", "num_prompts"])
    expect(report).toMatchObject({ completed: 10, total_output_tokens: 40, settings: { concurrency: 2, requests: 10 } })
    const csv = readFileSync(files.csv, "utf8").trim().split("\n")
    expect(csv).toHaveLength(11)
    expect(csv[0]!.split(",").slice(0, 4)).toEqual(["request_id", "start_time", "intended_time", "status"])
  }, 60_000)

  it("Ctrl-C (SIGINT) ends the in-flight requests and still writes the report and the CSV", async () => {
    const sim = await useSim({ ttftMs: 60_000 })
    const files = tempFiles()
    const cli = runCli(["--base-url", sim.baseUrl, "--concurrency", "3", "--json", files.json, "--csv", files.csv])
    await until(() => sim.counters().running === 3, 30_000)
    cli.child.kill("SIGINT")
    const { code, stdout } = await cli.exit
    expect(code).toBe(130)
    expect(stdout).toContain("stopped by the user")
    const report = JSON.parse(readFileSync(files.json, "utf8"))
    expect(report).toMatchObject({ status: "stopped", reason: "stopped by the user", num_prompts: 3, failed: 3 })
    expect(readFileSync(files.csv, "utf8").trim().split("\n")).toHaveLength(4)
  }, 60_000)

  it("exits 1 when the error-rate limit stops the run, with the report written", async () => {
    const sim = await useSim({ fault: { kind: "status", status: 503 } })
    const files = tempFiles()
    const { code } = await runCli(["--base-url", sim.baseUrl, "--concurrency", "2", "--requests", "500", "--max-error-rate", "0.2", "--json", files.json]).exit
    expect(code).toBe(1)
    expect(JSON.parse(readFileSync(files.json, "utf8")).reason).toMatch(/^error rate/)
  }, 60_000)

  it("exits 1 when a --fail-if condition holds, and says which", async () => {
    const sim = await useSim({ ttftMs: 30, outputTokens: 2 })
    const { code, stderr } = await runCli(["--base-url", sim.baseUrl, "--requests", "3", "--fail-if", "p99_ttft_ms>10,failed>0"]).exit
    expect(code).toBe(1)
    expect(stderr).toMatch(/--fail-if: p99_ttft_ms>10 \(p99_ttft_ms = \d/)
    expect(stderr).not.toContain("failed>0")
  }, 60_000)

  it("exits 2 with one line naming the flag on a bad argument", async () => {
    const { code, stderr, stdout } = await runCli(["--base-url", "http://127.0.0.1:1/v1", "--concurrency", "zero"]).exit
    expect(code).toBe(2)
    expect(stderr).toBe("loadtest: --concurrency: expected a number, got \"zero\"\n")
    expect(stdout).toBe("")
  }, 60_000)

  it("compare prints both runs with the relative change", async () => {
    const sim = await useSim({ outputTokens: 2 })
    const a = tempFiles()
    const b = tempFiles()
    expect((await runCli(["--base-url", sim.baseUrl, "--requests", "2", "--quiet", "--json", a.json]).exit).code).toBe(0)
    expect((await runCli(["--base-url", sim.baseUrl, "--requests", "4", "--quiet", "--json", b.json]).exit).code).toBe(0)
    const { code, stdout } = await runCli(["compare", a.json, b.json]).exit
    expect(code).toBe(0)
    expect(stdout).toMatch(/^completed\s+2\s+4\s+\+100\.0%$/m)
  }, 60_000)
})
