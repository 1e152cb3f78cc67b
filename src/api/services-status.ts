/**
 * How the API reads the status of the service actors running in its process (`GET /api/admin/services`). Defined
 * here, below `services/`, so the handlers need not import the supervisor; absent from the context: no services run.
 */
import { Context, type Effect, type Layer } from "effect"
import type { ServiceStatus } from "../domain/service-status.js"

export class ServiceStatuses extends Context.Tag("orion/ServiceStatuses")<ServiceStatuses, {
  /** Every supervised service's status, in the order they were started. */
  readonly read: Effect.Effect<ReadonlyArray<ServiceStatus>>
}>() {}

/** Services for a server to run (`orion start` makes it from services/): what to print, and the supervisor as a layer. */
export interface ServicesToRun<R> {
  readonly started: ReadonlyArray<{ readonly name: string; readonly description: string }>
  readonly layer: Layer.Layer<ServiceStatuses, never, R>
}
