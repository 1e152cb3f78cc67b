/**
 * A task run as a flow run's timeline and task-run list show it — name, state, times and nothing else — and the page
 * of them one request reads, so a flow run of ten thousand task runs loads in a few small requests.
 */
import { Schema } from "effect"
import { TaskRun } from "./runs.js"
import { Uuid } from "./primitives.js"

export const TaskRunSummary = TaskRun.pick("id", "created", "name", "state_type", "state_name", "start_time", "end_time")
  .annotations({ identifier: "TaskRunSummary" })
export type TaskRunSummary = typeof TaskRunSummary.Type

/** The most summaries one request returns. */
export const MAX_SUMMARY_PAGE = 5000

/** The query of `GET /api/flow_runs/{id}/task_run_summaries`: the page after task run `after` (in id order), `limit` long. */
export const TaskRunSummaryParams = Schema.Struct({
  after: Schema.optional(Uuid),
  limit: Schema.optional(Schema.NumberFromString.pipe(
    Schema.int(),
    Schema.between(1, MAX_SUMMARY_PAGE, { message: () => `limit must be an integer between 1 and ${MAX_SUMMARY_PAGE}` })
  ))
}).annotations({ identifier: "TaskRunSummaryParams" })
export type TaskRunSummaryParams = typeof TaskRunSummaryParams.Type
