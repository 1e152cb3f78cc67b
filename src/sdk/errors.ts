/** The SDK's typed errors: each says what went wrong and what to do about it. */
import { Schema } from "effect"

/** A task (or `getRunLogger`) was used outside a flow run. */
export class NotInFlow extends Schema.TaggedError<NotInFlow>()("NotInFlow", { message: Schema.String }) {}

/** A flow's parameters did not match its `parameters` Schema: the run was recorded as Failed and never ran. */
export class ParameterValidationError extends Schema.TaggedError<ParameterValidationError>()("ParameterValidationError", {
  flow: Schema.String,
  flow_run_id: Schema.NullOr(Schema.String),
  message: Schema.String
}) {}

/** `map` was given mapped arguments of different lengths. */
export class MappingLengthMismatch extends Schema.TaggedError<MappingLengthMismatch>()("MappingLengthMismatch", {
  task: Schema.String,
  message: Schema.String
}) {}

/** A task run ended in a state other than Completed, so it has no result. */
export class TaskRunFailed extends Schema.TaggedError<TaskRunFailed>()("TaskRunFailed", {
  task: Schema.String,
  task_run_id: Schema.NullOr(Schema.String),
  state: Schema.String,
  message: Schema.String
}) {}

/** A flow run ended in a state other than Completed, so it has no result. */
export class FlowRunFailed extends Schema.TaggedError<FlowRunFailed>()("FlowRunFailed", {
  flow: Schema.String,
  flow_run_id: Schema.String,
  state: Schema.String,
  message: Schema.String
}) {}

/**
 * A flow was started in a worker thread of a `parallel()` task runner: the worker imported a task's module to find
 * the task, and that module runs a flow when imported. Flows run from the main thread only.
 */
export class FlowInWorkerThread extends Schema.TaggedError<FlowInWorkerThread>()("FlowInWorkerThread", {
  flow: Schema.String,
  message: Schema.String
}) {}

/** A setting Orion reads when it starts running flows (`ORION_LOG_FORMAT`, `ORION_LOG_LEVEL`, …) has a value it does not accept. */
export class InvalidSetting extends Schema.TaggedError<InvalidSetting>()("InvalidSetting", { message: Schema.String }) {}
