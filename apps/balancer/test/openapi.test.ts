/**
 * The admin API's OpenAPI document is a contract: clients are generated from it. The served document
 * must equal the committed copy (openapi.snapshot.json) apart from the version, which follows
 * apps/balancer/package.json. A deliberate change of the API updates the copy in its own commit:
 * `LB_UPDATE_OPENAPI_SNAPSHOT=1 npx vitest run apps/balancer/test/openapi.test.ts`.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync, writeFileSync } from "node:fs"
import pkg from "../package.json" with { type: "json" }
import { TestBalancer } from "./support/Balancer.js"

const SNAPSHOT = new URL("openapi.snapshot.json", import.meta.url)

layer(TestBalancer.layer())("OpenAPI document", (it) => {
  it.effect("is the committed copy, with the balancer's version", () =>
    Effect.gen(function*() {
      const lb = yield* TestBalancer
      const served = yield* lb.fetch("GET", "/admin/api/openapi.json")
      expect(served.status).toBe(200)
      expect(served.body.info.version).toBe(pkg.version)
      const document = { ...served.body, info: { ...served.body.info, version: "<version>" } }
      // Compared as text: key order is part of the document a reader sees.
      const text = JSON.stringify(document, null, 2) + "\n"
      if (process.env.LB_UPDATE_OPENAPI_SNAPSHOT === "1") writeFileSync(SNAPSHOT, text)
      expect(text).toBe(readFileSync(SNAPSHOT, "utf8"))
    }))
})

