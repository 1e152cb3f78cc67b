/** Flow runs and task runs: one execution of a flow or a task, with its current state and timings (spec §1.2, §1.3). */
import { Schema } from "effect"
import { BaseFields } from "./base.js"
import { RunPolicy, defaultRunPolicy } from "./policy.js"
import { JsonObject, Key, nullable, Seconds, Tags, Timestamp, Uuid, withDefault } from "./primitives.js"
import { State, StateCreate, StateType } from "./state.js"

/** The columns of a run that the orchestrator maintains as its state changes (spec §3.2's global transforms). */
export const OrchestratedFields = {
  state_id: Schema.NullOr(Uuid),
  state_type: Schema.NullOr(StateType),
  state_name: Schema.NullOr(Schema.String),
  run_count: Schema.Int,
  expected_start_time: Schema.NullOr(Timestamp),
  next_scheduled_start_time: Schema.NullOr(Timestamp),
  start_time: Schema.NullOr(Timestamp),
  end_time: Schema.NullOr(Timestamp),
  total_run_time: Seconds
} as const

/** Fields shared by flow runs and task runs: the orchestrated ones, the estimates computed on read, the current state. */
const RunTimingFields = {
  ...OrchestratedFields,
  estimated_run_time: Seconds,
  estimated_start_time_delta: Seconds,
  state: Schema.NullOr(State)
} as const

/** When the run last reported that it is alive while running (null: never), so a dead process's runs can be found. */
const HeartbeatField = { heartbeat_time: Schema.NullOr(Timestamp) } as const

export const FlowRun = Schema.Struct({
  ...BaseFields,
  name: Schema.String,
  flow_id: Uuid,
  deployment_id: Schema.NullOr(Uuid),
  flow_version: Schema.NullOr(Schema.String),
  parameters: JsonObject,
  idempotency_key: Schema.NullOr(Schema.String),
  context: JsonObject,
  empirical_policy: RunPolicy,
  empirical_config: JsonObject,
  tags: Tags,
  parent_task_run_id: Schema.NullOr(Uuid),
  auto_scheduled: Schema.Boolean,
  ...RunTimingFields,
  ...HeartbeatField
}).annotations({ identifier: "FlowRun" })
export type FlowRun = typeof FlowRun.Type

export const FlowRunCreate = Schema.Struct({
  id: Schema.optional(Uuid),
  name: nullable(Key),
  flow_id: Uuid,
  deployment_id: nullable(Uuid),
  flow_version: nullable(Key),
  parameters: withDefault(JsonObject, () => ({})),
  context: withDefault(JsonObject, () => ({})),
  empirical_policy: withDefault(RunPolicy, () => defaultRunPolicy),
  tags: withDefault(Tags, () => []),
  idempotency_key: nullable(Key),
  parent_task_run_id: nullable(Uuid),
  state: nullable(StateCreate)
}).annotations({ identifier: "FlowRunCreate" })
export type FlowRunCreate = typeof FlowRunCreate.Type

export const FlowRunUpdate = Schema.Struct({
  flow_version: Schema.optional(Schema.NullOr(Key)),
  parameters: Schema.optional(JsonObject),
  name: Schema.optional(Key)
}).annotations({ identifier: "FlowRunUpdate" })
export type FlowRunUpdate = typeof FlowRunUpdate.Type

/** Where a task run's argument came from (spec §1.3 `TaskRunInput`). */
export const TaskRunInput = Schema.Union(
  Schema.Struct({ input_type: Schema.Literal("task_run"), id: Uuid }),
  Schema.Struct({ input_type: Schema.Literal("parameter"), name: Schema.String }),
  Schema.Struct({ input_type: Schema.Literal("constant"), type: Schema.String })
).annotations({ identifier: "TaskRunInput" })
export type TaskRunInput = typeof TaskRunInput.Type

/** An upstream task run that fed one of a task run's inputs. */
export const TaskRunResult = TaskRunInput.members[0]
export type TaskRunResult = typeof TaskRunResult.Type

/** One node of `GET /flow_runs/{id}/graph`: a task run, the task runs it depends on, and its current state. */
export const TaskRunDependencies = Schema.Struct({
  id: Uuid,
  upstream_dependencies: Schema.Array(TaskRunResult),
  state: Schema.NullOr(State)
}).annotations({ identifier: "TaskRunDependencies" })
export type TaskRunDependencies = typeof TaskRunDependencies.Type

export const TaskInputs = Schema.Record({ key: Schema.String, value: Schema.Array(TaskRunInput) })
export type TaskInputs = typeof TaskInputs.Type

export const TaskRun = Schema.Struct({
  ...BaseFields,
  name: Schema.String,
  flow_run_id: Uuid,
  task_key: Schema.String,
  dynamic_key: Schema.String,
  cache_key: Schema.NullOr(Schema.String),
  cache_expiration: Schema.NullOr(Timestamp),
  task_version: Schema.NullOr(Schema.String),
  empirical_policy: RunPolicy,
  tags: Tags,
  task_inputs: TaskInputs,
  ...RunTimingFields,
  ...HeartbeatField
}).annotations({ identifier: "TaskRun" })
export type TaskRun = typeof TaskRun.Type

export const TaskRunCreate = Schema.Struct({
  id: Schema.optional(Uuid),
  name: nullable(Key),
  flow_run_id: Uuid,
  task_key: Key.pipe(Schema.minLength(1)),
  dynamic_key: Key,
  cache_key: nullable(Key),
  cache_expiration: nullable(Timestamp),
  task_version: nullable(Schema.String),
  empirical_policy: withDefault(RunPolicy, () => defaultRunPolicy),
  tags: withDefault(Tags, () => []),
  task_inputs: withDefault(TaskInputs, () => ({})),
  state: nullable(StateCreate)
}).annotations({ identifier: "TaskRunCreate" })
export type TaskRunCreate = typeof TaskRunCreate.Type

/** Which table a run lives in. */
export const RunKind = Schema.Literal("flow_run", "task_run").annotations({ identifier: "RunKind" })
export type RunKind = typeof RunKind.Type

/** A reference to a run, as the orchestrator is addressed. */
export interface RunRef {
  readonly kind: RunKind
  readonly id: Uuid
}
