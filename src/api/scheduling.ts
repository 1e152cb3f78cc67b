/**
 * A deployment's scheduled runs (spec §5.2 steps 2–4, §4.4 `/schedule`): its schedule's dates in a window become
 * SCHEDULED flow runs created through the orchestrator. Idempotent: each date's run has the idempotency key
 * `scheduled <deployment id> <date>`, so scheduling a window twice never duplicates a date.
 */
import { Effect, Either } from "effect"
import type { Deployment } from "../domain/deployment.js"
import { InvalidRequest } from "../domain/errors.js"
import { defaultRunPolicy } from "../domain/policy.js"
import { formatTimestamp, type Uuid } from "../domain/primitives.js"
import type { FlowRunCreate } from "../domain/runs.js"
import type { Schedule } from "../domain/schedule.js"
import { States } from "../domain/state.js"
import { Orchestrator } from "../../runtime/orchestrator.js"
import { scheduleDates } from "./schedules/dates.js"

/** Runs scheduled at most per deployment and window (spec §9 `scheduler_max_runs`). */
export const SCHEDULER_MAX_RUNS = 100
/** How far ahead runs are scheduled (spec §9 `scheduler_max_scheduled_time`: 100 days). */
export const SCHEDULER_MAX_SCHEDULED_SECONDS = 100 * 86_400
/** Runs created at a time (spec §9 `scheduler_insert_batch_size`). */
export const SCHEDULER_INSERT_BATCH_SIZE = 500

/** The idempotency key of a deployment's scheduled run at `date`. */
export const scheduledRunKey = (deploymentId: string, date: Date): string => `scheduled ${deploymentId} ${formatTimestamp(date)}`

/** Refuses a schedule that cannot produce dates (e.g. an RRULE feature not supported), before anything is written. */
export const checkSchedule = (schedule: Schedule | null): Effect.Effect<void, InvalidRequest> => {
  if (schedule === null) return Effect.void
  const dates = scheduleDates(schedule, { n: 1, start: new Date(0) })
  return Either.isLeft(dates) ? Effect.fail(new InvalidRequest({ detail: dates.left })) : Effect.void
}

export interface ScheduleWindow {
  readonly start: Date
  readonly end: Date
  readonly maxRuns: number
}

/**
 * The deployment's runs for its schedule's dates in the window, each SCHEDULED at its date with the idempotency key
 * of that date and tags `auto-scheduled` + the deployment's (spec §5.2 step 3); none for a deployment without schedule.
 */
export const scheduledRunsOf = (deployment: Deployment, window: ScheduleWindow): Effect.Effect<Array<FlowRunCreate>, InvalidRequest> => {
  if (deployment.schedule === null) return Effect.succeed([])
  const dates = scheduleDates(deployment.schedule, { n: window.maxRuns, start: window.start, end: window.end })
  if (Either.isLeft(dates)) return Effect.fail(new InvalidRequest({ detail: dates.left }))
  return Effect.succeed(dates.right.map((date) => ({
    name: null,
    flow_id: deployment.flow_id,
    deployment_id: deployment.id,
    flow_version: null,
    parameters: deployment.parameters,
    context: {},
    empirical_policy: defaultRunPolicy,
    tags: ["auto-scheduled", ...deployment.tags.filter((t) => t !== "auto-scheduled")],
    idempotency_key: scheduledRunKey(deployment.id, date),
    parent_task_run_id: null,
    state: States.Scheduled({ scheduledTime: date, message: "Flow run scheduled" })
  })))
}

/**
 * Creates the runs through the orchestrator, marked auto-scheduled, `batchSize` at a time (proposed together, each
 * batch shares the orchestrator's transactions); a run whose key exists is found, not made again, and one whose
 * deployment was deleted meanwhile is skipped. Answers the new runs, each with its id.
 */
export const createScheduledRuns = (runs: ReadonlyArray<FlowRunCreate>, batchSize = SCHEDULER_INSERT_BATCH_SIZE) =>
  Effect.gen(function*() {
    const orchestrator = yield* Orchestrator
    const created: Array<{ readonly id: Uuid; readonly run: FlowRunCreate }> = []
    for (let i = 0; i < runs.length; i += batchSize) {
      const batch = runs.slice(i, i + batchSize)
      // A run whose deployment (or flow) was deleted meanwhile is not made; the others are.
      const outcomes = yield* Effect.forEach(batch, (run) =>
        orchestrator.createFlowRun(run, { autoScheduled: true }).pipe(Effect.catchTag("ObjectNotFound", () => Effect.succeed(null))), { concurrency: "unbounded" })
      outcomes.forEach((c, j) => {
        if (c !== null && c.created) created.push({ id: c.id, run: batch[j]! })
      })
    }
    return created
  })

/** Creates the deployment's runs for its schedule's dates in the window (see `scheduledRunsOf`); answers the ids of the new ones. */
export const scheduleRuns = (deployment: Deployment, window: ScheduleWindow) =>
  Effect.flatMap(scheduledRunsOf(deployment, window), (runs) => Effect.map(createScheduledRuns(runs), (created) => created.map((c) => c.id)))

/** The default window of the scheduler: from `now`, 100 days ahead, at most 100 runs. */
export const defaultWindow = (now: Date): ScheduleWindow => ({
  start: now,
  end: new Date(now.getTime() + SCHEDULER_MAX_SCHEDULED_SECONDS * 1000),
  maxRuns: SCHEDULER_MAX_RUNS
})
