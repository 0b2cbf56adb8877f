/**
 * The import rules between the balancer's feature folders (DESIGN.md "Layout"): a folder reaches only
 * into `packages/*`, the top-level settings files and the folders below it, never into a sibling above.
 * And the shared admin API contract imports nothing Node-only: the browser bundles it.
 */
import { describe, expect, it } from "vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const src = join(root, "apps/balancer/src")

/** Lowest first: each folder may import the ones before it. */
const LAYERS = ["http", "store", "upstream", "routing", "observability", "protection", "proxy", "admin", "web"] as const
/** Top-level files every folder may use: settings, the version, the drain flag. */
const BASE_FILES = new Set(["Config.ts", "Lifecycle.ts", "Version.ts"])

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

/** Every module specifier a file imports or re-exports. */
const importsOf = (file: string): Array<string> =>
  [...readFileSync(file, "utf8").matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gm)].map((match) => match[1]!)

/** Where an import of `specifier` from `file` lands, relative to src ("store/Topology.ts"), or null outside it. */
const targetOf = (file: string, specifier: string) => {
  if (!specifier.startsWith(".")) return null
  const target = relative(src, resolve(dirname(file), specifier.replace(/\.js$/, ".ts")))
  return target.startsWith("..") ? null : target
}

describe("layering", () => {
  it("reads the imports of every source file", () => {
    // Guards the rule tests below against a regex that matches nothing.
    const imports = filesUnder(src).flatMap(importsOf)
    expect(imports.length).toBeGreaterThan(200)
    expect(imports).toContain("@llmlb/api")
  })

  for (const layer of LAYERS) {
    it(`${layer}/ imports only the folders below it`, () => {
      const allowed = new Set(LAYERS.slice(0, LAYERS.indexOf(layer) + 1))
      const violations = filesUnder(join(src, layer)).flatMap((file) =>
        importsOf(file).flatMap((specifier) => {
          const target = targetOf(file, specifier)
          if (target === null) return []
          const [head, ...rest] = target.split("/")
          const ok = rest.length === 0 ? BASE_FILES.has(head!) : allowed.has(head as typeof LAYERS[number])
          return ok ? [] : [`${relative(src, file)} imports ${target}`]
        })
      )
      expect(violations).toEqual([])
    })
  }

  it("top-level settings files import no feature folder", () => {
    const violations = [...BASE_FILES].flatMap((name) =>
      importsOf(join(src, name)).filter((specifier) => targetOf(join(src, name), specifier)?.includes("/"))
    )
    expect(violations).toEqual([])
  })

  it("the admin API contract (packages/api) imports nothing Node-only", () => {
    const apiFiles = filesUnder(join(root, "packages/api/src"))
    const external = new Set(apiFiles.flatMap(importsOf).filter((specifier) => !specifier.startsWith(".")))
    expect([...external].filter((specifier) => !["effect", "@effect/platform", "@llmlb/core"].includes(specifier))).toEqual([])
    const core = filesUnder(join(root, "packages/core/src")).flatMap(importsOf)
    expect(core.filter((specifier) => specifier.startsWith("node:"))).toEqual([])
  })
})
