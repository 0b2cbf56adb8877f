import { describe, expect, it } from "@effect/vitest"
import { simScoped } from "@llmlb/upstream-sim"
import { Effect, Exit, Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { connectEndpoint, startBalancer } from "./support/Balancer.js"
import { generationRequests } from "./support/Sims.js"

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
}

/** A local OTLP/HTTP (JSON) receiver: collects every span posted to /v1/traces. */
const otlpReceiver = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ server: Http.Server; spans: Array<OtlpSpan>; services: Array<string> }>((resolve) => {
      const spans: Array<OtlpSpan> = []
      const services: Array<string> = []
      const server = Http.createServer((req, res) => {
        let body = ""
        req.on("data", (d) => (body += d))
        req.on("end", () => {
          if (req.url === "/v1/traces") {
            for (const rs of JSON.parse(body).resourceSpans ?? []) {
              for (const a of rs.resource?.attributes ?? []) if (a.key === "service.name") services.push(a.value.stringValue)
              for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans)
            }
          }
          res.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => resolve({ server, spans, services }))
    })
  ),
  ({ server }) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
)

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value
  return value === undefined ? undefined : Object.values(value)[0]
}

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`

/** Runs traffic through a traced balancer and returns the spans it exported at shutdown. */
const traced = (env: Record<string, string>, failFirst: boolean) =>
  Effect.gen(function*() {
    const receiver = yield* otlpReceiver
    const broken = yield* simScoped({ models: ["m1"], fault: { kind: "status", status: 502 } })
    const upstream = yield* simScoped({ models: ["m1"], outputTokens: 4 })
    const scope = yield* Scope.make()
    const lb = yield* startBalancer({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`,
      OTEL_SERVICE_NAME: "lb-under-test",
      ...env
    }).pipe(Scope.extend(scope))
    yield* lb.admin("PATCH", "/routing", { mode: "priority" })
    if (failFirst) yield* connectEndpoint(lb, broken.baseUrl, { name: "broken", priority_order: 0 })
    yield* connectEndpoint(lb, upstream.baseUrl, { name: "good", priority_order: 1 })
    const response = yield* lb.fetch("POST", "/v1/chat/completions", {
      body: { model: "m1", messages: [{ role: "user", content: "three word prompt" }] },
      headers: { traceparent: PARENT }
    })
    expect(response.status).toBe(200)
    // Closing the balancer flushes the batch of spans.
    yield* Scope.close(scope, Exit.void)
    return { receiver, upstream }
  })

describe("tracing", () => {
  it.scopedLive("exports a span per request with GenAI attributes, under the client's trace, with routing and attempt children", () =>
    Effect.gen(function*() {
      const { receiver, upstream } = yield* traced({}, true)
      const root = receiver.spans.find((s) => s.name === "chat/completions m1")!
      expect(root).toBeDefined()
      expect(root.traceId).toBe(TRACE_ID)
      expect(root.parentSpanId).toBe("00f067aa0ba902b7")
      expect(attribute(root, "gen_ai.request.model")).toBe("m1")
      expect(attribute(root, "gen_ai.operation.name")).toBe("chat")
      expect(Number(attribute(root, "gen_ai.usage.input_tokens"))).toBe(3)
      expect(Number(attribute(root, "gen_ai.usage.output_tokens"))).toBe(4)
      expect(attribute(root, "lb.endpoint")).toBe("good")
      expect(Number(attribute(root, "lb.attempts"))).toBe(2)
      expect(receiver.services).toContain("lb-under-test")

      const children = receiver.spans.filter((s) => s.parentSpanId === root.spanId).map((s) => s.name).sort()
      expect(children).toEqual(["route", "route", "upstream broken", "upstream good"])
      // Not forwarded upstream unless LB_PROPAGATE_TRACE=true.
      expect(generationRequests(upstream)[0]!.headers.traceparent).toBeUndefined()
    }))

  it.scopedLive("forwards traceparent upstream with LB_PROPAGATE_TRACE=true, as a child of the attempt span", () =>
    Effect.gen(function*() {
      const { receiver, upstream } = yield* traced({ LB_PROPAGATE_TRACE: "true" }, false)
      const sent = generationRequests(upstream)[0]!.headers.traceparent as string
      expect(sent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`))
      const attempt = receiver.spans.find((s) => s.name === "upstream good")!
      expect(sent.split("-")[2]).toBe(attempt.spanId)
    }))

  it.scopedLive("exports nothing and forwards nothing when OTEL_EXPORTER_OTLP_ENDPOINT is unset", () =>
    Effect.gen(function*() {
      const upstream = yield* simScoped({ models: ["m1"] })
      const lb = yield* startBalancer({ LB_PROPAGATE_TRACE: "true" })
      yield* connectEndpoint(lb, upstream.baseUrl)
      yield* lb.fetch("POST", "/v1/chat/completions", {
        body: { model: "m1", messages: [{ role: "user", content: "x" }] },
        headers: { traceparent: PARENT }
      })
      expect(generationRequests(upstream)[0]!.headers.traceparent).toBeUndefined()
    }))
})
