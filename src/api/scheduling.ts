/**
 * A deployment's scheduled runs (spec §5.2 steps 2–4, §4.4 `/schedule`): its schedule's dates in a window become
 * SCHEDULED flow runs created through the orchestrator. Idempotent: each date's run has the idempotency key
 * `scheduled <deployment id> <date>`, so scheduling a window twice never duplicates a date.
 */
import { Config, Effect, Either } from "effect"
import type { Deployment } from "../domain/deployment.js"
import { InvalidRequest } from "../domain/errors.js"
import { defaultRunPolicy } from "../domain/policy.js"
import { formatTimestamp, type Uuid } from "../domain/primitives.js"
import type { FlowRunCreate } from "../domain/runs.js"
import type { Schedule } from "../domain/schedule.js"
import { States } from "../domain/state.js"
import { Orchestrator } from "../../runtime/orchestrator.js"
import { scheduleDates } from "../domain/schedules/dates.js"

/** Runs scheduled at most per deployment and window (spec §9 `scheduler_max_runs`). */
export const SCHEDULER_MAX_RUNS = 100
/** How far ahead runs are scheduled (spec §9 `scheduler_max_scheduled_time`: 100 days). */
export const SCHEDULER_MAX_SCHEDULED_SECONDS = 100 * 86_400
/** Runs created at a time (spec §9 `scheduler_insert_batch_size`). */
export const SCHEDULER_INSERT_BATCH_SIZE = 500

/** `ORION_SERVICES_SCHEDULER_MAX_RUNS` (100): runs kept scheduled ahead per deployment, by the scheduler and the deployment routes alike. */
export const schedulerMaxRuns = Config.integer("ORION_SERVICES_SCHEDULER_MAX_RUNS").pipe(
  Config.withDefault(SCHEDULER_MAX_RUNS),
  Config.validate({ message: "ORION_SERVICES_SCHEDULER_MAX_RUNS must be a positive integer", validation: (n) => n >= 1 })
)
/** `ORION_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME` (100 days): seconds ahead that runs are scheduled. */
export const schedulerMaxScheduledSeconds = Config.number("ORION_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME").pipe(
  Config.withDefault(SCHEDULER_MAX_SCHEDULED_SECONDS),
  Config.validate({ message: "ORION_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME must be a positive number of seconds", validation: (n) => n > 0 && Number.isFinite(n) })
)
/** `ORION_SERVICES_SCHEDULER_INSERT_BATCH_SIZE` (500): runs created at a time. */
export const schedulerInsertBatchSize = Config.integer("ORION_SERVICES_SCHEDULER_INSERT_BATCH_SIZE").pipe(
  Config.withDefault(SCHEDULER_INSERT_BATCH_SIZE),
  Config.validate({ message: "ORION_SERVICES_SCHEDULER_INSERT_BATCH_SIZE must be a positive integer", validation: (n) => n >= 1 })
)

/** How far ahead runs are kept scheduled: the scheduler's horizon, which the deployment routes use too. */
export interface Horizon {
  readonly maxRuns: number
  readonly maxScheduledSeconds: number
}

export const horizon: Config.Config<Horizon> = Config.all({ maxRuns: schedulerMaxRuns, maxScheduledSeconds: schedulerMaxScheduledSeconds })

/** The window of `horizon` from `now`. */
export const windowFrom = (now: Date, h: Horizon): ScheduleWindow => ({
  start: now,
  end: new Date(now.getTime() + h.maxScheduledSeconds * 1000),
  maxRuns: h.maxRuns
})

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
    empirical_policy: deployment.empirical_policy,
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
