/**
 * The supervisor of the long-lived service actors (DESIGN.md "Service actors"): runs each `Service` as a fiber of the
 * enclosing scope, restarts it with capped exponential back-off after a failure or defect (logging it), and keeps
 * every service's `ServiceStatus` for `GET /api/admin/services`. Closing the scope stops them all.
 */
import { Cause, Clock, Duration, Effect, Layer, Ref, type Scope } from "effect"
import type { ServiceStatus } from "../src/domain/service-status.js"
import { describeCause } from "../src/storage/database.js"
import { ServiceStatuses } from "../src/api/services-status.js"
import type { Service, ServiceReporter } from "./service.js"

export interface SupervisorOptions {
  /** The wait before the first restart (default 1 s); it doubles after each failure in a row. */
  readonly initialBackoff?: Duration.DurationInput
  /** The longest wait before a restart (default 60 s). */
  readonly maxBackoff?: Duration.DurationInput
}

const initialStatus = (service: Service<any>): ServiceStatus => ({
  name: service.name,
  description: service.description,
  state: "starting",
  started: null,
  last_loop: null,
  last_loop_ms: null,
  last_error: null,
  last_error_time: null,
  next_due: null,
  restarts: 0
})

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/** The wait before restart number `failures` (1, 2, …): initial·2^(failures−1), at most `max`. */
export const backoffMillis = (failures: number, initial: number, max: number): number =>
  Math.min(max, initial * 2 ** Math.min(Math.max(0, failures - 1), 30))

/**
 * Starts every service in the scope and answers how to read their statuses. A service that ran longer than the
 * longest back-off before failing starts its back-off afresh: one failure a day never waits a minute.
 */
export const supervise = <R>(services: ReadonlyArray<Service<R>>, options: SupervisorOptions = {}): Effect.Effect<ServiceStatuses["Type"], never, R | Scope.Scope> =>
  Effect.gen(function*() {
    const initial = Duration.toMillis(Duration.decode(options.initialBackoff ?? "1 second"))
    const max = Duration.toMillis(Duration.decode(options.maxBackoff ?? "60 seconds"))
    const statuses = yield* Ref.make<ReadonlyArray<ServiceStatus>>(services.map(initialStatus))
    const update = (name: string, f: (s: ServiceStatus) => ServiceStatus) =>
      Ref.update(statuses, (all) => all.map((s) => (s.name === name ? f(s) : s)))

    const reporterOf = (name: string): ServiceReporter => ({
      loopDone: (ms) => Effect.flatMap(now, (at) => update(name, (s) => ({ ...s, state: "running", last_loop: at, last_loop_ms: ms }))),
      nextDue: (at) => update(name, (s) => ({ ...s, next_due: at })),
      error: (message) =>
        Effect.zipRight(
          Effect.logWarning(`service ${name}: ${message}`),
          Effect.flatMap(now, (at) => update(name, (s) => ({ ...s, last_error: message, last_error_time: at })))
        )
    })

    const supervised = (service: Service<R>) =>
      Effect.gen(function*() {
        const report = reporterOf(service.name)
        let failures = 0
        while (true) {
          const started = yield* now
          yield* update(service.name, (s) => ({ ...s, state: "running", started }))
          const exit = yield* Effect.exit(service.run(report))
          // `run` never succeeds; an interruption is the scope closing (handled by onInterrupt below).
          if (exit._tag === "Success" || Cause.isInterruptedOnly(exit.cause)) return
          const ended = yield* now
          failures = ended.getTime() - started.getTime() > max ? 1 : failures + 1
          const wait = backoffMillis(failures, initial, max)
          const message = describeCause(exit.cause) || "unknown failure"
          yield* Effect.logError(`service ${service.name} stopped (${message}); restarting in ${wait} ms`, exit.cause)
          yield* update(service.name, (s) => ({
            ...s,
            state: "restarting",
            last_error: message,
            last_error_time: ended,
            next_due: new Date(ended.getTime() + wait),
            restarts: s.restarts + 1
          }))
          yield* Effect.sleep(Duration.millis(wait))
        }
      }).pipe(
        // Its log lines name the service in their message, so each is one line in `orion start`'s output.
        Effect.onInterrupt(() => update(service.name, (s) => ({ ...s, state: "stopped", next_due: null })))
      )

    for (const service of services) yield* Effect.forkScoped(supervised(service))
    return { read: Ref.get(statuses) }
  })

/** The supervisor as a layer: the services run while the layer is alive, and their statuses are `ServiceStatuses`. */
export const layer = <R>(services: ReadonlyArray<Service<R>>, options?: SupervisorOptions): Layer.Layer<ServiceStatuses, never, R> =>
  Layer.scoped(ServiceStatuses, supervise(services, options))
