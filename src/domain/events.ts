/** Domain events: appended with a monotonically increasing id, published on the event bus, streamed to clients. */
import { Schema } from "effect"
import { JsonObject, Timestamp, Uuid } from "./primitives.js"

export const EventKind = Schema.Literal(
  "flow_run.created", "task_run.created", "flow_run.state_changed", "task_run.state_changed", "log"
).annotations({ identifier: "EventKind" })
export type EventKind = typeof EventKind.Type

export const OrionEvent = Schema.Struct({
  id: Schema.Int,
  occurred: Timestamp,
  event: EventKind,
  flow_run_id: Schema.NullOr(Uuid),
  task_run_id: Schema.NullOr(Uuid),
  payload: JsonObject
}).annotations({ identifier: "OrionEvent" })
export type OrionEvent = typeof OrionEvent.Type

/** An event before the events table has assigned its id. */
export type NewEvent = Omit<OrionEvent, "id">
