/** Universal transforms (spec §3.6): bookkeeping on the run for every stored state, forced or not. */
import { Effect } from "effect"
import { isTerminal } from "../domain/index.js"
import { transform } from "./rule.js"
import { OrchestrationStore } from "./store.js"

export const SetRunStateType = transform({
  name: "SetRunStateType",
  before: ({ run, proposed }) => {
    run.state_type = proposed.type
    run.state_name = proposed.name
  }
})

export const SetStartTime = transform({
  name: "SetStartTime",
  before: ({ run, proposed }) => {
    if (proposed.type === "RUNNING" && run.start_time === null) run.start_time = proposed.timestamp
  }
})

export const SetEndTime = transform({
  name: "SetEndTime",
  before: ({ run, initial, proposed }) => {
    if (isTerminal(initial?.type) && !isTerminal(proposed.type)) run.end_time = null
    if (isTerminal(proposed.type) && run.start_time !== null && run.end_time === null) run.end_time = proposed.timestamp
  }
})

export const IncrementRunCount = transform({
  name: "IncrementRunCount",
  before: ({ run, proposed }) => {
    if (proposed.type === "RUNNING") run.run_count += 1
  }
})

export const IncrementRunTime = transform({
  name: "IncrementRunTime",
  before: ({ run, initial, proposed }) => {
    if (initial?.type === "RUNNING") run.total_run_time += (proposed.timestamp.getTime() - initial.timestamp.getTime()) / 1000
  }
})

export const SetExpectedStartTime = transform({
  name: "SetExpectedStartTime",
  before: ({ run, proposed }) => {
    if (run.expected_start_time === null) {
      run.expected_start_time = proposed.type === "SCHEDULED" ? proposed.state_details.scheduled_time ?? proposed.timestamp : proposed.timestamp
    }
  }
})

export const SetNextScheduledStartTime = transform({
  name: "SetNextScheduledStartTime",
  before: ({ run, initial, proposed }) => {
    if (initial?.type === "SCHEDULED") run.next_scheduled_start_time = null
    if (proposed.type === "SCHEDULED") run.next_scheduled_start_time = proposed.state_details.scheduled_time
  }
})

export const UpdateStateDetails = transform({
  name: "UpdateStateDetails",
  before: (ctx) => {
    const { run } = ctx
    ctx.proposed = {
      ...ctx.proposed,
      state_details: {
        ...ctx.proposed.state_details,
        flow_run_id: run.flow_run_id as never,
        task_run_id: (run.kind === "task_run" ? run.id : ctx.proposed.state_details.task_run_id) as never
      }
    }
  }
})

/** A subflow's states name its placeholder task run in the parent. */
export const UpdateSubflowStateDetails = transform({
  name: "UpdateSubflowStateDetails",
  before: (ctx) => {
    if (ctx.run.parent_task_run_id !== null) {
      ctx.proposed = { ...ctx.proposed, state_details: { ...ctx.proposed.state_details, task_run_id: ctx.run.parent_task_run_id as never } }
    }
  }
})

/** Every state of a subflow is mirrored onto its placeholder task run, so the parent sees it like a task. */
export const UpdateSubflowParentTask = transform({
  name: "UpdateSubflowParentTask",
  after: ({ run, validated }) =>
    run.parent_task_run_id === null || validated === null ? undefined : Effect.gen(function*() {
      if (run.parent_task_run_id === null) return
      const { id: _id, timestamp: _ts, ...content } = validated
      yield* (yield* OrchestrationStore).forceState("task_run", run.parent_task_run_id, {
        ...content,
        state_details: { ...validated.state_details, child_flow_run_id: run.id as never, task_run_id: run.parent_task_run_id as never }
      })
    })
})

/** A task run leaving a terminal state invalidates the cache entries it wrote. */
export const ExpireCacheOnLeavingTerminal = transform({
  name: "ExpireCacheOnLeavingTerminal",
  before: ({ run, initial, proposed, now }) =>
    isTerminal(initial?.type) && !isTerminal(proposed.type)
      ? Effect.flatMap(OrchestrationStore, (store) => store.expireCacheEntries(run.id, now))
      : undefined
})

export const GlobalTransforms = [
  SetRunStateType, SetStartTime, SetEndTime, IncrementRunCount, IncrementRunTime,
  SetExpectedStartTime, SetNextScheduledStartTime, UpdateStateDetails
] as const
