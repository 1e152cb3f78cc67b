/** What the orchestrator answers to a proposal, and the record it keeps of every decision (spec §3.2, §3.7). */
import { Schema } from "effect"
import { nullable, Seconds, Timestamp, Uuid } from "./primitives.js"
import { RunKind } from "./runs.js"
import { State, StateCreate, StateType } from "./state.js"

export const SetStateStatus = Schema.Literal("ACCEPT", "REJECT", "WAIT", "ABORT").annotations({ identifier: "SetStateStatus" })
export type SetStateStatus = typeof SetStateStatus.Type

export const ResponseDetails = Schema.Union(
  Schema.Struct({ type: Schema.Literal("accept_details") }),
  Schema.Struct({ type: Schema.Literal("reject_details"), reason: nullable(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("wait_details"), delay_seconds: Seconds, reason: nullable(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("abort_details"), reason: nullable(Schema.String) })
).annotations({ identifier: "ResponseDetails" })
export type ResponseDetails = typeof ResponseDetails.Type

export const OrchestrationResult = Schema.Struct({
  state: Schema.NullOr(State),
  status: SetStateStatus,
  details: ResponseDetails
}).annotations({ identifier: "OrchestrationResult" })
export type OrchestrationResult = typeof OrchestrationResult.Type

/** One recorded decision of the orchestrator: which rule decided, and why. */
export const Decision = Schema.Struct({
  id: Uuid,
  run_kind: RunKind,
  run_id: Uuid,
  timestamp: Timestamp,
  from_type: Schema.NullOr(StateType),
  proposed_type: StateType,
  proposed_name: Schema.String,
  forced: Schema.Boolean,
  status: SetStateStatus,
  /** The rule that rejected, delayed or aborted; null when accepted as proposed. */
  rule: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  /** The state stored (the proposal, possibly renamed, or its substitute); null on WAIT and ABORT. */
  state_id: Schema.NullOr(Uuid),
  state_type: Schema.NullOr(StateType),
  state_name: Schema.NullOr(Schema.String),
  /** Names of the rules that took part, in order of entry. */
  rules: Schema.Array(Schema.String)
}).annotations({ identifier: "Decision" })
export type Decision = typeof Decision.Type

/** The body of `POST /flow_runs/{id}/set_state` and `POST /task_runs/{id}/set_state`. */
export const SetStateRequest = Schema.Struct({
  state: StateCreate,
  force: Schema.optionalWith(Schema.Boolean, { default: () => false })
}).annotations({ identifier: "SetStateRequest" })
export type SetStateRequest = typeof SetStateRequest.Type
