import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { defineConfig } from "vitest/config"
import projectGlobs from "./vitest.workspace"

// Projects found by a bare folder glob do not inherit this file's test options, so the timeouts (sized for a
// loaded 2-core machine) are given to each folder without its own vitest.config.ts here; a folder with one sets its own.
const timeouts = { testTimeout: 30_000, hookTimeout: 60_000 }

/** "dir/*" is every folder in dir; anything else is one folder. */
const expand = (glob: string): Array<string> =>
  glob.endsWith("/*")
    ? readdirSync(glob.slice(0, -2), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(glob.slice(0, -2), e.name))
    : [glob]

const projects = projectGlobs.flatMap(expand).filter((dir) => existsSync(join(dir, "package.json"))).map(
  (dir) =>
    existsSync(join(dir, "vitest.config.ts"))
      ? join(dir, "vitest.config.ts")
      : { root: dir, test: { name: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name as string, ...timeouts } }
)

export default defineConfig({ test: { projects, ...timeouts } })
