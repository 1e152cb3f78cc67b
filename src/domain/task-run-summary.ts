/**
 * A flow run's task runs as its timeline and task-run list show them — id, name, state and times, nothing else — a page
 * at a time and column by column (one array per field, times as epoch milliseconds): ten thousand task runs are a few
 * small requests that the server writes and the browser reads without a Date or an object per field.
 */
import { Schema } from "effect"
import { Uuid } from "./primitives.js"
import { StateType } from "./state.js"

/** A moment as milliseconds since 1970-01-01 UTC. */
const EpochMillis = Schema.Number.annotations({ identifier: "EpochMillis", description: "milliseconds since 1970-01-01T00:00:00Z" })

/** Task runs in id order; the i-th entry of every array belongs to the i-th task run. */
export const TaskRunSummaryPage = Schema.Struct({
  id: Schema.Array(Uuid),
  name: Schema.Array(Schema.String),
  state_type: Schema.Array(Schema.NullOr(StateType)),
  state_name: Schema.Array(Schema.NullOr(Schema.String)),
  created: Schema.Array(EpochMillis),
  start_time: Schema.Array(Schema.NullOr(EpochMillis)),
  end_time: Schema.Array(Schema.NullOr(EpochMillis)),
  /** The `after` of the next page; null on the last page. */
  next_after: Schema.NullOr(Uuid)
}).annotations({ identifier: "TaskRunSummaryPage" })
export type TaskRunSummaryPage = typeof TaskRunSummaryPage.Type

/** The most task runs one page holds. */
export const MAX_SUMMARY_PAGE = 10_000

/** The query of `GET /api/flow_runs/{id}/task_run_summaries`: the page after task run `after` (in id order), `limit` long. */
export const TaskRunSummaryParams = Schema.Struct({
  after: Schema.optional(Uuid),
  limit: Schema.optional(Schema.NumberFromString.pipe(
    Schema.int(),
    Schema.between(1, MAX_SUMMARY_PAGE, { message: () => `limit must be an integer between 1 and ${MAX_SUMMARY_PAGE}` })
  ))
}).annotations({ identifier: "TaskRunSummaryParams" })
export type TaskRunSummaryParams = typeof TaskRunSummaryParams.Type
