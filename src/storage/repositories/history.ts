/**
 * The run-history request and response (spec §4.5) and the interval arithmetic behind them. The domain has no
 * Schemas for these yet; they live here, beside the query, until it does.
 */
import { Schema } from "effect"
import { Filters } from "../../domain/filters.js"
import { Seconds, Timestamp } from "../../domain/primitives.js"
import { StateType } from "../../domain/state.js"

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

/** Consecutive intervals `[start + k·step, start + (k+1)·step)` while their start is before `end`, at most 500. */
export const historyIntervals = (start: Date, end: Date, stepSeconds: number): Array<{ readonly start: Date; readonly end: Date }> => {
  const stepMs = stepSeconds * 1000
  const out: Array<{ start: Date; end: Date }> = []
  for (let k = 0; k < MAX_HISTORY_INTERVALS; k++) {
    const from = start.getTime() + k * stepMs
    if (from >= end.getTime()) break
    out.push({ start: new Date(from), end: new Date(from + stepMs) })
  }
  return out
}
