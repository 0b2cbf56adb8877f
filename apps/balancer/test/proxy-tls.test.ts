import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connectEndpoint, startBalancer } from "./support/Balancer.js"

/** An HTTPS upstream with a freshly made self-signed certificate. */
const selfSignedUpstream = Effect.acquireRelease(
  Effect.promise(() => {
    const dir = mkdtempSync(join(tmpdir(), "lb-tls-"))
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")
    ], { stdio: "ignore" })
    const server = Https.createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (req, res) => {
      req.resume()
      const body = JSON.stringify({
        id: "x", object: "chat.completion", created: 0, model: "m1",
        choices: [{ index: 0, message: { role: "assistant", content: "over tls" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }
      })
      res.writeHead(200, { "content-type": "application/json" }).end(body)
    })
    return new Promise<Https.Server>((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)))
  }),
  (server) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
).pipe(Effect.map((server) => `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1`))

describe("TLS to upstreams", () => {
  it.scopedLive("refuses an untrusted certificate unless the endpoint sets verify_tls false", () =>
    Effect.gen(function*() {
      const baseUrl = yield* selfSignedUpstream
      const lb = yield* startBalancer()
      const body = { model: "m1", messages: [{ role: "user", content: "hi" }] }
      const verifying = yield* connectEndpoint(lb, baseUrl, { name: "verifying" })
      const refused = yield* lb.fetch("POST", "/v1/chat/completions", { body })
      expect(refused.status).toBe(502)
      expect(refused.body.error.message).toMatch(/certificate/i)

      yield* lb.admin("PATCH", `/endpoints/${verifying.id}`, { verify_tls: false })
      const accepted = yield* lb.fetch("POST", "/v1/chat/completions", { body })
      expect(accepted.status).toBe(200)
      expect(accepted.body.choices[0].message.content).toBe("over tls")
    }), 20_000)
})
