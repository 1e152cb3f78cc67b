/** Run states: types, details, the State record, proposals and the named-state constructors (spec §1.5, §2, §11). */
import { Schema } from "effect"
import { DataDocument } from "./data.js"
import { Key, newUuid, nullable, Timestamp, Uuid } from "./primitives.js"

/** The kinds of state a run can be in; CRASHED and CANCELLING come from Prefect 2 (spec §11). */
export const StateType = Schema.Literal(
  "SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "CANCELLING"
).annotations({ identifier: "StateType" })
export type StateType = typeof StateType.Type
export const StateTypes: ReadonlyArray<StateType> = StateType.literals

/** Terminal types: a run in one of these has finished. */
export const TerminalStateTypes: ReadonlyArray<StateType> = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]
export const isTerminal = (type: StateType | null | undefined): boolean =>
  type != null && TerminalStateTypes.includes(type)

/** Metadata carried by a state: owning runs, schedule, cache key. */
export const StateDetails = Schema.Struct({
  flow_run_id: nullable(Uuid),
  task_run_id: nullable(Uuid),
  child_flow_run_id: nullable(Uuid),
  scheduled_time: nullable(Timestamp),
  cache_key: nullable(Key),
  cache_expiration: nullable(Timestamp)
}).annotations({ identifier: "StateDetails" })
export type StateDetails = typeof StateDetails.Type

export const emptyStateDetails: StateDetails = {
  flow_run_id: null, task_run_id: null, child_flow_run_id: null,
  scheduled_time: null, cache_key: null, cache_expiration: null
}

/** One immutable entry of a run's state history. */
export const State = Schema.Struct({
  id: Uuid,
  type: StateType,
  name: Schema.String,
  timestamp: Timestamp,
  message: nullable(Schema.String),
  data: nullable(DataDocument),
  state_details: Schema.optionalWith(StateDetails, { default: () => emptyStateDetails })
}).annotations({ identifier: "State" })
export type State = typeof State.Type

/** A proposed state as a client sends it: the server assigns id and timestamp (spec §4.4 `StateCreate`). */
export const StateCreate = Schema.Struct({
  type: StateType,
  name: nullable(Key),
  message: nullable(Schema.String),
  data: nullable(DataDocument),
  state_details: Schema.optionalWith(StateDetails, { default: () => emptyStateDetails, nullable: true })
}).annotations({ identifier: "StateCreate" })
export type StateCreate = typeof StateCreate.Type

/** "COMPLETED" → "Completed", "CANCELLING" → "Cancelling". */
export const defaultStateName = (type: StateType): string =>
  type.split("_").map((w) => w.charAt(0) + w.slice(1).toLowerCase()).join(" ")

/** Turns a proposal into a full State at `now`: a fresh id, a default name, and a scheduled time for SCHEDULED states. */
export const materialize = (p: StateCreate, now: Date): State => ({
  id: newUuid(),
  type: p.type,
  name: p.name ?? defaultStateName(p.type),
  timestamp: now,
  message: p.message,
  data: p.data,
  state_details: p.type === "SCHEDULED" && p.state_details.scheduled_time === null
    ? { ...p.state_details, scheduled_time: now }
    : p.state_details
})

/** Copies a state for re-insertion (e.g. a cache hit): fresh id and timestamp, same content (spec §0.2). */
export const copyState = (s: State, now: Date, overrides: Partial<Omit<State, "id" | "timestamp">> = {}): State => ({
  ...s, ...overrides, id: newUuid(), timestamp: now
})

type Opts = { readonly name?: string; readonly message?: string | null; readonly data?: DataDocument | null; readonly details?: Partial<StateDetails> }
const make = (type: StateType, defaultName: string) => (opts: Opts = {}): StateCreate => ({
  type,
  name: opts.name ?? defaultName,
  message: opts.message ?? null,
  data: opts.data ?? null,
  state_details: { ...emptyStateDetails, ...opts.details }
})
const scheduledAs = (name: string) => (opts: Opts & { readonly scheduledTime?: Date } = {}): StateCreate =>
  make("SCHEDULED", name)({ ...opts, details: { ...opts.details, ...(opts.scheduledTime ? { scheduled_time: opts.scheduledTime } : {}) } })

/** The named states (spec §2.2, §11). Each returns a proposal. */
export const States = {
  Scheduled: scheduledAs("Scheduled"),
  Late: scheduledAs("Late"),
  AwaitingRetry: scheduledAs("AwaitingRetry"),
  Pending: make("PENDING", "Pending"),
  NotReady: make("PENDING", "NotReady"),
  Running: make("RUNNING", "Running"),
  Retrying: make("RUNNING", "Retrying"),
  Completed: make("COMPLETED", "Completed"),
  Cached: make("COMPLETED", "Cached"),
  Failed: make("FAILED", "Failed"),
  TimedOut: make("FAILED", "TimedOut"),
  Cancelling: make("CANCELLING", "Cancelling"),
  Cancelled: make("CANCELLED", "Cancelled"),
  /** A deployment's run an agent did not start: missed beyond its catch-up window, or overlapping an earlier run. */
  Skipped: make("CANCELLED", "Skipped"),
  Crashed: make("CRASHED", "Crashed")
} as const
