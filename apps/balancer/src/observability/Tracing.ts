/**
 * OpenTelemetry traces, OTLP over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (`/v1/traces` appended, as the
 * OTLP spec says); off, at no cost per request, when it is unset. The SDK is set up through
 * @effect/opentelemetry's layers; the data plane uses the resulting OTel tracer synchronously.
 *
 * Per proxied request: a server span with GenAI attributes, a child span for routing and one per
 * upstream attempt. A client's W3C `traceparent` becomes the parent; it is forwarded upstream only
 * with LB_PROPAGATE_TRACE=true.
 */
import { NodeSdk, Resource, Tracer as OtelTracing } from "@effect/opentelemetry"
import type { Context as OtelContext, Span, Tracer } from "@opentelemetry/api"
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Config, Context, Effect, Layer, Option } from "effect"
import { VERSION } from "../Version.js"

export interface TracingShape {
  /** undefined when tracing is off. */
  readonly tracer: Tracer | undefined
  /** Send `traceparent` to upstreams (LB_PROPAGATE_TRACE). */
  readonly propagate: boolean
}

export class Tracing extends Context.Tag("Tracing")<Tracing, TracingShape>() {}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** The parent context carried by a W3C `traceparent` header, or the root context. */
export const parentContext = (traceparent: string | Array<string> | undefined): OtelContext => {
  const match = typeof traceparent === "string" ? TRACEPARENT.exec(traceparent) : null
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return ROOT_CONTEXT
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true
  })
}

/** The `traceparent` header that makes `span` the parent of the upstream's work. */
export const traceparentOf = (span: Span): string => {
  const { spanId, traceFlags, traceId } = span.spanContext()
  return `00-${traceId}-${spanId}-0${traceFlags & TraceFlags.SAMPLED}`
}

export const childSpan = (tracer: Tracer, parent: Span, name: string, kind = SpanKind.INTERNAL) =>
  tracer.startSpan(name, { kind }, trace.setSpan(ROOT_CONTEXT, parent))

export const endSpan = (span: Span, error?: string) => {
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error })
  span.end()
}

export const TracingLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const endpoint = yield* Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT"))
    const serviceName = yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("llm-load-balancer"))
    const propagate = yield* Config.boolean("LB_PROPAGATE_TRACE").pipe(Config.withDefault(false))
    if (Option.isNone(endpoint) || endpoint.value.trim() === "") {
      return Layer.succeed(Tracing, { tracer: undefined, propagate })
    }
    const url = `${endpoint.value.trim().replace(/\/+$/, "")}/v1/traces`
    return Layer.effect(Tracing, Effect.map(OtelTracing.OtelTracer, (tracer) => ({ tracer, propagate }))).pipe(
      Layer.provide(OtelTracing.layer),
      // The provider flushes its batch of spans when the layer closes, at shutdown.
      Layer.provide(NodeSdk.layerTracerProvider(new BatchSpanProcessor(new OTLPTraceExporter({ url })))),
      Layer.provide(Resource.layer({ serviceName, serviceVersion: VERSION }))
    )
  })
)
