/**
 * Batches: many proposals, or many task-run creates, in one request (`POST /api/{flow_runs|task_runs}/set_states`,
 * `POST /api/task_runs/create_many`), each item answered on its own — its result, or why it was refused.
 */
import { Schema } from "effect"
import { Conflict, ObjectNotFound } from "./errors.js"
import { OrchestrationResult } from "./orchestration.js"
import { nullable, Uuid } from "./primitives.js"
import { State, StateCreate } from "./state.js"
import { TaskRunCreate } from "./runs.js"

/** The most items one batch may carry. */
export const MAX_BATCH_ITEMS = 1000

/** One proposal of a batch: as `POST /{id}/set_state`, with the run's id. */
export const SetStateItem = Schema.Struct({
  id: Uuid,
  state: StateCreate,
  force: Schema.optionalWith(Schema.Boolean, { default: () => false })
}).annotations({ identifier: "SetStateItem" })
export type SetStateItem = typeof SetStateItem.Type

export const SetStateBatch = Schema.Array(SetStateItem).pipe(Schema.maxItems(MAX_BATCH_ITEMS)).annotations({ identifier: "SetStateBatch" })

/** What was decided on one proposal of a batch, or that its run does not exist. */
export const SetStateOutcome = Schema.Union(
  Schema.Struct({ result: OrchestrationResult }),
  Schema.Struct({ error: ObjectNotFound })
).annotations({ identifier: "SetStateOutcome" })
export type SetStateOutcome = typeof SetStateOutcome.Type

/** One create of a batch: the task run, and optionally its first proposal (Running), made in the same transaction. */
export const TaskRunCreateItem = Schema.Struct({
  run: TaskRunCreate,
  start: nullable(StateCreate)
}).annotations({ identifier: "TaskRunCreateItem" })
export type TaskRunCreateItem = typeof TaskRunCreateItem.Type

export const TaskRunCreateBatch = Schema.Array(TaskRunCreateItem).pipe(Schema.maxItems(MAX_BATCH_ITEMS)).annotations({ identifier: "TaskRunCreateBatch" })

/**
 * A created (or, idempotently, found) run: its id and current state — what a client needs, without the whole run —
 * and, when it was created with a `start` proposal, what was decided on it (a run found rather than created is not started).
 */
export const RunCreated = Schema.Struct({
  id: Uuid,
  created: Schema.Boolean,
  state: Schema.NullOr(State),
  started: Schema.optionalWith(OrchestrationResult, { exact: true })
}).annotations({ identifier: "RunCreated" })
export type RunCreated = typeof RunCreated.Type

/** One create of a batch: the run, or why it could not be made (its flow run is missing, its id taken by another run). */
export const CreateOutcome = Schema.Union(
  Schema.Struct({ run: RunCreated }),
  Schema.Struct({ error: Schema.Union(ObjectNotFound, Conflict) })
).annotations({ identifier: "CreateOutcome" })
export type CreateOutcome = typeof CreateOutcome.Type
