import { describe, expect, it } from "@effect/vitest"
import type { ImageTemplate } from "dockerfile-ast"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import { dockerfile, envNamesReadBy, healthcheckCommand, instructions, read, ROOT, stageEnv } from "./support/Repo.js"

interface Image {
  readonly file: string
  /** The app's sources and the prefix of the variables it reads. */
  readonly src: string
  readonly prefix: RegExp
  /** The stage that runs the app, and the deploy target its build stage prepares for it. */
  readonly runtime: string
  readonly port: string
  readonly env: Record<string, string>
}

const images: ReadonlyArray<Image> = [
  {
    file: "docker/balancer.Dockerfile",
    src: "apps/balancer/src",
    prefix: /^LB_/,
    runtime: "balancer",
    port: "8090",
    env: { NODE_ENV: "production", LB_HOST: "0.0.0.0", LB_PORT: "8090", LB_DB_PATH: "/data/load_balancer.db", LB_WEB_DIR: "/app/web" }
  },
  {
    file: "docker/producer.Dockerfile",
    src: "apps/producer/src",
    prefix: /^LP_/,
    runtime: "producer",
    port: "8088",
    env: { NODE_ENV: "production", LP_HOST: "0.0.0.0", LP_PORT: "8088", LP_DB_PATH: "/data/load_producer.db", LP_WEB_DIR: "/app/web" }
  }
]

const runs = (stage: ImageTemplate) => instructions(stage, "RUN").join("\n")

/** `COPY --from=<stage> <source> <target>` of a stage, flags parsed. */
const copies = (stage: ImageTemplate) =>
  stage.getCOPYs().map((copy) => {
    const args = copy.getArguments().map((a) => a.getValue()).filter((a) => !a.startsWith("--"))
    return { from: copy.getFromFlag()?.getValue() ?? null, sources: args.slice(0, -1), target: args.at(-1) }
  })

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE|CREDENTIAL/i

describe.each(images)("$file", (image) => {
  const { globalArgs, stages, bases } = dockerfile(image.file)
  const build = stages.get("build")!
  const runtime = stages.get(image.runtime)!

  it("builds every stage on one pinned node:22 bookworm-slim", () => {
    expect(globalArgs.get("NODE_IMAGE")).toMatch(/^node:22\.\d+\.\d+-bookworm-slim$/)
    expect(bases.length).toBeGreaterThanOrEqual(2)
    for (const base of bases) expect(base).toBe(globalArgs.get("NODE_IMAGE"))
  })

  it("compiles better-sqlite3 from source and installs from the lockfile with corepack pnpm", () => {
    expect(build).toBeDefined()
    expect(runs(build)).toMatch(/apt-get install -y --no-install-recommends python3 make g\+\+/)
    expect(runs(build)).toMatch(/corepack pnpm install --offline --frozen-lockfile/)
    expect(stageEnv(build)).toMatchObject({ npm_config_build_from_source: "true", npm_config_nodedir: "/usr/local" })
    expect(copies(build)[0]!.sources).toEqual(["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml"])
  })

  it("bundles the app and prepares its deployment with docker/deploy.mjs", () => {
    expect(runs(build)).toContain(`node apps/web/build.mjs`)
    expect(runs(build)).toContain(`node apps/${image.runtime}/build.mjs`)
    expect(runs(build)).toContain(`node docker/deploy.mjs ${image.runtime} /deploy/${image.runtime}`)
  })

  it("copies only that deployment into the runtime stage", () => {
    expect(copies(runtime)).toEqual([{ from: "build", sources: [`/deploy/${image.runtime}`], target: "/app" }])
    expect(instructions(runtime, "WORKDIR")).toEqual(["/app"])
    expect(runtime.getCMDs().map((c) => c.getArgumentsContent())).toEqual([`["node", "main.js"]`])
  })

  it("runs as the unprivileged node user (uid 1000) in production mode with its database on the /data volume", () => {
    expect(instructions(runtime, "USER")).toEqual(["node"])
    expect(stageEnv(runtime)).toEqual(image.env)
    expect(instructions(runtime, "VOLUME")).toEqual([`["/data"]`])
    expect(runs(runtime)).toMatch(/mkdir -p \/data\s+&& chown node:node \/data/)
    // USER comes after the last RUN: nothing runs as root at start-up.
    const keywords = runtime.getInstructions().map((i) => i.getKeyword())
    expect(keywords.lastIndexOf("USER")).toBeGreaterThan(keywords.lastIndexOf("RUN"))
  })

  it("sets only variables the app reads", () => {
    const reads = envNamesReadBy(image.src, image.prefix)
    for (const name of Object.keys(stageEnv(runtime)).filter((n) => n !== "NODE_ENV")) expect(reads, name).toContain(name)
  })

  it("exposes its port, checks /health with node itself, and stops on SIGTERM", () => {
    expect(instructions(runtime, "EXPOSE")).toEqual([image.port])
    const command = healthcheckCommand(runtime)
    expect(command.slice(0, 2)).toEqual(["node", "-e"])
    expect(command[2]).toContain(`||${image.port})+'/health'`)
    expect(instructions(runtime, "STOPSIGNAL")).toEqual(["SIGTERM"])
  })

  it("adds no URL and keeps no secret in ENV or ARG", () => {
    for (const stage of stages.values()) {
      for (const add of instructions(stage, "ADD")) expect(add).not.toMatch(/https?:\/\//)
      for (const name of Object.keys(stageEnv(stage))) expect(name).not.toMatch(SECRET_NAME)
      for (const arg of stage.getARGs()) expect(arg.getProperty()?.getName()).not.toMatch(SECRET_NAME)
    }
    for (const name of globalArgs.keys()) expect(name).not.toMatch(SECRET_NAME)
  })
})

describe("the upstream-sim stage (compose `demo` profile)", () => {
  const { stages } = dockerfile("docker/balancer.Dockerfile")
  const sim = stages.get("upstream-sim")!

  it("holds only the bundled simulator and the demo's wiring script, runs as node, checks /health", () => {
    expect(runs(stages.get("build")!)).toContain("node docker/deploy.mjs upstream-sim /deploy/upstream-sim")
    expect(copies(sim)).toEqual([{ from: "build", sources: ["/deploy/upstream-sim"], target: "/app" }])
    expect(instructions(sim, "USER")).toEqual(["node"])
    expect(healthcheckCommand(sim)[2]).toContain("http://127.0.0.1:8000/health")
    expect(instructions(sim, "STOPSIGNAL")).toEqual(["SIGTERM"])
  })

  it("is not the default target: the balancer stage comes last", () => {
    expect([...stages.keys()].at(-1)).toBe("balancer")
  })
})

/**
 * Whether Docker leaves `path` out of the build context: a pattern excludes a path or any folder above it
 * (`*` within a name, `**` across folders), `!` re-includes, and the last matching line wins.
 */
const ignoredBy = (patterns: ReadonlyArray<string>) => {
  const rules = patterns.map((line) => {
    const negated = line.startsWith("!")
    const glob = negated ? line.slice(1) : line
    const source = glob.split("/").map((part) => part === "**" ? ".*" : part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")).join("/")
    return { negated, regex: new RegExp(`^${source.replace(/\.\*\//g, "(?:.*/)?")}$`) }
  })
  return (path: string) => {
    const parts = path.split("/")
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"))
    let ignored = false
    for (const rule of rules) if (prefixes.some((p) => rule.regex.test(p))) ignored = !rule.negated
    return ignored
  }
}

describe(".dockerignore", () => {
  const patterns = read(".dockerignore").split("\n").filter((line) => line !== "" && !line.startsWith("#"))
  const ignored = ignoredBy(patterns)

  it("keeps dependencies at every level, build output, data, history, coverage, docs, reports and secrets out", () => {
    for (
      const path of [
        "node_modules/effect/package.json",
        "apps/balancer/node_modules/effect/package.json",
        "apps/balancer/dist/main.js",
        "data/load_balancer.db",
        "apps/producer/data/load_producer.db-wal",
        ".git/HEAD",
        "coverage/index.html",
        "docs/screenshot.png",
        ".vitest-report.json",
        ".env",
        ".env.production"
      ]
    ) expect(ignored(path), path).toBe(true)
    expect(ignored(".env.example")).toBe(false)
  })

  it("keeps every file the build stages need: the lockfile's workspace packages, the sources, the scripts", () => {
    const lockfile = parse(read("pnpm-lock.yaml"))
    const importers = Object.keys(lockfile.importers)
    expect(importers).toContain("apps/balancer")
    expect(importers).toContain("apps/producer")
    const copied = images.flatMap((image) => copies(dockerfile(image.file).stages.get("build")!).flatMap((c) => c.sources))
    const needed = [
      ...copied.filter((source) => source !== "."),
      ...importers.map((dir) => `${dir}/package.json`.replace(/^\.\//, "")),
      "scripts/build.mjs",
      "apps/web/build.mjs",
      "apps/balancer/build.mjs",
      "apps/producer/build.mjs",
      "apps/balancer/src/main.ts",
      "packages/upstream-sim/src/cli.ts",
      "docker/deploy.mjs",
      "docker/demo-setup.mjs",
      "docker/sqlite-backup.mjs"
    ]
    for (const path of needed) {
      expect(existsSync(join(ROOT, path)), path).toBe(true)
      expect(ignored(path), path).toBe(false)
    }
  })
})
