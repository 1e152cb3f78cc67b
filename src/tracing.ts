/**
 * OpenTelemetry tracing, on when an OTLP endpoint is set (`ORION_OTLP_ENDPOINT`, or the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), off otherwise — and then @effect/opentelemetry
 * and the OpenTelemetry SDK are not even loaded (they are optional peer dependencies, imported only here, dynamically).
 */
import { Config, Effect, Layer, Option } from "effect"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { markTracerInstalled } from "../runtime/internal/tracing.js"

const nonBlank = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((s) => s.trim() !== "")), Config.map(Option.map((s) => s.trim())))

/**
 * Where spans are exported: `ORION_OTLP_ENDPOINT` (an OTLP/HTTP base URL; spans go to its `/v1/traces`), else the
 * OpenTelemetry variables (read by the exporter itself); none: tracing is off. `OTEL_SDK_DISABLED=true` turns it off too.
 */
export const otlpEndpoint = Config.all({
  orion: nonBlank("ORION_OTLP_ENDPOINT"),
  otel: nonBlank("OTEL_EXPORTER_OTLP_ENDPOINT"),
  otelTraces: nonBlank("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  disabled: Config.boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false))
}).pipe(Config.map(({ disabled, orion, otel, otelTraces }): Option.Option<{ readonly url: string | undefined }> =>
  disabled ? Option.none()
    : Option.isSome(orion) ? Option.some({ url: `${orion.value.replace(/\/+$/, "")}/v1/traces` })
    : Option.isSome(otel) || Option.isSome(otelTraces) ? Option.some({ url: undefined })
    : Option.none()))

/** `OTEL_SERVICE_NAME` (default `orion`): the `service.name` of the spans. */
const serviceName = Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("orion"))

/** The tracer providers installed in this thread, for `flushSpans`. */
const providers = new Set<{ readonly forceFlush: () => Promise<void> }>()

/** Exports every span ended so far (a worker thread does so after each task body: it may be stopped at any time). */
export const flushSpans = (): Promise<void> => Promise.all([...providers].map((p) => p.forceFlush().catch(() => undefined))).then(() => undefined)

/** A tracer that hands every span to `processor` (tests give an in-memory exporter's). */
export const layerWithProcessor = (processor: SpanProcessor): Layer.Layer<never> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const [OtelTracer, OtelResource, { NodeTracerProvider }] = yield* Effect.promise(() =>
      Promise.all([import("@effect/opentelemetry/Tracer"), import("@effect/opentelemetry/Resource"), import("@opentelemetry/sdk-trace-node")]))
    const name = yield* Effect.orElseSucceed(serviceName, () => "orion")
    const provider = Layer.scoped(OtelTracer.OtelTracerProvider, Effect.flatMap(OtelResource.Resource, (resource) => Effect.acquireRelease(
      Effect.sync(() => {
        const p = new NodeTracerProvider({ resource, spanProcessors: [processor] })
        providers.add(p)
        return p
      }),
      (p) => Effect.promise(() => p.forceFlush().then(() => p.shutdown())).pipe(
        Effect.timeoutOption("3 seconds"), Effect.ignore, Effect.ensuring(Effect.sync(() => providers.delete(p))))
    )))
    markTracerInstalled()
    return Layer.discard(OtelTracer.layer.pipe(Layer.provide(provider), Layer.provideMerge(OtelResource.layerFromEnv({ "service.name": name }))))
  }))

/** Tracing to the OTLP endpoint of the settings (batched export, flushed when the layer closes); nothing when none is set. */
export const layer: Layer.Layer<never> = Layer.unwrapEffect(Effect.gen(function*() {
  const endpoint = yield* Effect.orElseSucceed(otlpEndpoint, () => Option.none())
  if (Option.isNone(endpoint)) return Layer.empty
  const [{ OTLPTraceExporter }, { BatchSpanProcessor }] = yield* Effect.promise(() =>
    Promise.all([import("@opentelemetry/exporter-trace-otlp-http"), import("@opentelemetry/sdk-trace-base")]))
  const exporter = new OTLPTraceExporter(endpoint.value.url === undefined ? {} : { url: endpoint.value.url })
  return layerWithProcessor(new BatchSpanProcessor(exporter))
}))
