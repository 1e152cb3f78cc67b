/** What `GET /api/admin/services` reports of each long-lived service actor (scheduler, agent, late runs, …). */
import { Schema } from "effect"
import { Timestamp } from "./primitives.js"

export const ServiceState = Schema.Literal("starting", "running", "restarting", "stopped")

export const ServiceStatus = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  state: ServiceState,
  started: Schema.NullOr(Timestamp),
  /** When its last iteration (a loop pass, a claimed batch …) ended, and how long it took. */
  last_loop: Schema.NullOr(Timestamp),
  last_loop_ms: Schema.NullOr(Schema.Number),
  /** The last failure or defect, and when; kept after a restart so it can be read. */
  last_error: Schema.NullOr(Schema.String),
  last_error_time: Schema.NullOr(Timestamp),
  /** When it next acts on its own (its loop's next pass, the next scheduled run it waits for), if known. */
  next_due: Schema.NullOr(Timestamp),
  restarts: Schema.Number
}).annotations({ identifier: "ServiceStatus" })
export type ServiceStatus = typeof ServiceStatus.Type
