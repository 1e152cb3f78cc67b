/**
 * A flow run's task-run dependency graph as the dashboard draws it, column by column: each task run's id, name and
 * state type, and its upstream task runs as indices into the same arrays — for ten thousand task runs a few hundred kB,
 * where `/graph` (the original's shape, with each run's whole state) is several MB.
 */
import { Schema } from "effect"
import { Uuid } from "./primitives.js"
import { StateType } from "./state.js"

/** Task runs in the order of their expected start (then id); the i-th entry of every array belongs to the i-th task run. */
export const TaskRunGraph = Schema.Struct({
  id: Schema.Array(Uuid),
  name: Schema.Array(Schema.String),
  state_type: Schema.Array(Schema.NullOr(StateType)),
  /** For each task run, the indices of the task runs of this flow run whose results fed its inputs (each once). */
  upstream: Schema.Array(Schema.Array(Schema.Int))
}).annotations({ identifier: "TaskRunGraph" })
export type TaskRunGraph = typeof TaskRunGraph.Type
