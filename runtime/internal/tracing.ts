/**
 * Spans only when a tracer is installed (src/tracing.ts, or one a caller provides): with Effect's own tracer in place
 * — tracing off — Orion creates no span objects at all on a run's path, just one look at the current tracer.
 */
import { Effect, type Tracer } from "effect"

let installed = false
/** Called by src/tracing.ts when it installs a tracer: from then on the HTTP client and server propagate trace context. */
export const markTracerInstalled = (): void => {
  installed = true
}
/** Whether this process has installed a tracer (a boolean read: cheap enough for every request). */
export const tracerInstalled = (): boolean => installed

let native: Tracer.Tracer | undefined
const nativeTracer = () => native ??= Effect.runSync(Effect.tracer)

/** Whether `tracer` exports anywhere (it is not Effect's built-in, unexported one). */
export const isTracing = (tracer: Tracer.Tracer): boolean => tracer !== nativeTracer()

/** `plain` when tracing is off; `traced()` when a tracer is installed. */
export const whenTracing = <A, E, R>(plain: Effect.Effect<A, E, R>, traced: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) => isTracing(tracer) ? traced() : plain)

/** `effect` in a span named `name` with `attributes`, when tracing is on. */
export const span = <A, E, R>(name: string, attributes: Record<string, unknown>, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  whenTracing(effect, () => Effect.withSpan(effect, name, { attributes }))
