/** Run history (spec §4.5): the request of `POST /flow_runs/history` and `/task_runs/history`, and its answer. */
import { Schema } from "effect"
import { Filters } from "./filters.js"
import { Seconds, Timestamp } from "./primitives.js"
import { StateType } from "./state.js"

/** At most this many intervals are returned, however long the range. */
export const MAX_HISTORY_INTERVALS = 500

/** Body of `POST /flow_runs/history` and `POST /task_runs/history`. The ≥ 1 s rule is checked by the query (→ InvalidRequest). */
export const HistoryRequest = Schema.Struct({
  history_start: Timestamp,
  history_end: Timestamp,
  history_interval_seconds: Seconds,
  ...Filters
}).annotations({ identifier: "HistoryRequest" })
export type HistoryRequest = typeof HistoryRequest.Type

/** Runs of one interval that are currently in one state (type and name). */
export const HistoryStateSummary = Schema.Struct({
  state_type: StateType,
  state_name: Schema.String,
  count_runs: Schema.Int,
  sum_estimated_run_time: Seconds,
  sum_estimated_lateness: Seconds
}).annotations({ identifier: "HistoryStateSummary" })
export type HistoryStateSummary = typeof HistoryStateSummary.Type

/** One interval `[interval_start, interval_end)` of the history, with the runs expected to start in it. */
export const HistoryInterval = Schema.Struct({
  interval_start: Timestamp,
  interval_end: Timestamp,
  states: Schema.Array(HistoryStateSummary)
}).annotations({ identifier: "HistoryInterval" })
export type HistoryInterval = typeof HistoryInterval.Type

/** The response: one entry per interval, empty ones included, ordered by start. */
export const HistoryResponse = Schema.Array(HistoryInterval).annotations({ identifier: "HistoryResponse" })
