/** A deployment: a flow, where to load it from, default parameters and an optional schedule (spec §1.4). */
import { Schema } from "effect"
import { BaseFields } from "./base.js"
import { DataDocument } from "./data.js"
import { JsonObject, Key, nullable, Tags, Uuid, withDefault } from "./primitives.js"
import { defaultRunPolicy, RunPolicy } from "./policy.js"
import { Schedule } from "./schedule.js"

/** The work queue of a deployment that names none. */
export const DEFAULT_WORK_QUEUE = "default"

/** A work queue's name: letters, digits, `-`, `_`, `.`, `/` (it appears on command lines and in URLs). */
export const WorkQueueName = Key.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/, { message: () => "a work queue name is letters, digits, '.', '_', '-' or '/', starting with a letter or digit" })
).annotations({ identifier: "WorkQueueName" })

/**
 * What an agent does with a due run while another run of the same deployment is still Pending, Running or Cancelling:
 * start it anyway (`allow`), skip it (`skip`: it ends Cancelled, named Skipped), or cancel the previous runs first
 * (`cancel_previous`).
 */
export const OverlapPolicy = Schema.Literal("allow", "skip", "cancel_previous").annotations({ identifier: "OverlapPolicy" })
export type OverlapPolicy = typeof OverlapPolicy.Type

/** A catch-up window in seconds: a run found due more than this long after its time is skipped, not run. */
export const CatchupSeconds = Schema.Number.pipe(Schema.nonNegative(), Schema.lessThanOrEqualTo(100 * 365.25 * 86_400))
  .annotations({ identifier: "CatchupSeconds" })

export const Deployment = Schema.Struct({
  ...BaseFields,
  name: Schema.String,
  flow_id: Uuid,
  flow_data: DataDocument,
  schedule: Schema.NullOr(Schedule),
  is_schedule_active: Schema.Boolean,
  parameters: JsonObject,
  tags: Tags,
  /** The module an agent imports to run this deployment's flow (absolute), and the name the flow is exported under. */
  flow_path: Schema.NullOr(Schema.String),
  flow_export: Schema.NullOr(Schema.String),
  /** The work queue its runs go to: an agent serves the queues it was started for. */
  work_queue: Schema.String,
  /** The retry policy of the runs it makes: its flow's, with what the deployment adds (crash retries). */
  empirical_policy: RunPolicy,
  /** Runs missed by more than this many seconds are skipped (null: every missed run is run, however late). */
  catchup_seconds: Schema.NullOr(Schema.Number),
  overlap: OverlapPolicy
}).annotations({ identifier: "Deployment" })
export type Deployment = typeof Deployment.Type

export const DeploymentCreate = Schema.Struct({
  name: Key.pipe(Schema.minLength(1)),
  flow_id: Uuid,
  flow_data: DataDocument,
  schedule: nullable(Schedule),
  is_schedule_active: withDefault(Schema.Boolean, () => true),
  parameters: withDefault(JsonObject, () => ({})),
  tags: withDefault(Tags, () => []),
  flow_path: nullable(Schema.String.pipe(Schema.minLength(1))),
  flow_export: nullable(Schema.String.pipe(Schema.minLength(1))),
  work_queue: withDefault(WorkQueueName, () => DEFAULT_WORK_QUEUE),
  empirical_policy: withDefault(RunPolicy, () => defaultRunPolicy),
  catchup_seconds: nullable(CatchupSeconds),
  overlap: withDefault(OverlapPolicy, () => "allow" as const)
}).pipe(
  Schema.filter((d) => (d.flow_path === null) === (d.flow_export === null) || "give both flow_path and flow_export (where an agent loads the flow), or neither")
).annotations({ identifier: "DeploymentCreate" })
export type DeploymentCreate = typeof DeploymentCreate.Type
