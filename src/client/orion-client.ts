/**
 * `OrionClient`: the one interface through which the SDK, the run actors, the services and the CLI talk to Orion.
 * Two layers implement it: local (the orchestrator and repositories in-process, on the local database) and, with
 * `ORION_API_URL` set, remote (the typed HTTP client of the API).
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Context, type Effect, Schema } from "effect"
import type {
  Deployment, Flow, FlowCreate, FlowRun, FlowRunCreate, FlowRunFilterRequest, LogCreate, ObjectNotFound, OrchestrationResult,
  RunRef, State, StateCreate, TaskRun, TaskRunCreate, TaskRunFilterRequest
} from "../domain/index.js"

/** Something went wrong between the client and Orion (database, network): the request did not take effect. */
export type ClientError = ObjectNotFound | OrionUnavailable

/** Orion could not be reached or could not apply the request; `message` says why. */
export class OrionUnavailable extends Schema.TaggedError<OrionUnavailable>()("OrionUnavailable", {
  message: Schema.String
}) {}

/** A created (or, idempotently, found) run: its id and current state. */
export interface CreatedRun {
  readonly id: FlowRun["id"]
  readonly created: boolean
  readonly state: State | null
  /** When the create asked to `start` a new run: the orchestrator's answer to that proposal. */
  readonly started?: OrchestrationResult
}

export interface CreateRunOptions {
  /**
   * A proposal (the Running state) to make as soon as a new run exists, in the same request: a client may leave it
   * out of `started` (the remote client does for flow runs), and the caller then proposes it itself.
   */
  readonly start?: StateCreate
}

export class OrionClient extends Context.Tag("orion/OrionClient")<OrionClient, {
  /** The flow named `name`, created if it does not exist yet. */
  readonly ensureFlow: (flow: FlowCreate) => Effect.Effect<Flow, ClientError>
  readonly readFlow: (id: string) => Effect.Effect<Flow, ClientError>
  /** A deployment: where its flow is loaded from, its work queue (an agent's executor reads it for a flow run). */
  readonly readDeployment: (id: string) => Effect.Effect<Deployment, ClientError>
  /** Creates a flow run and takes its first transition (default Pending); idempotent on `idempotency_key`. */
  readonly createFlowRun: (run: FlowRunCreate, options?: CreateRunOptions) => Effect.Effect<CreatedRun, ClientError>
  readonly readFlowRun: (id: string) => Effect.Effect<FlowRun, ClientError>
  readonly readFlowRuns: (request: FlowRunFilterRequest) => Effect.Effect<ReadonlyArray<FlowRun>, ClientError>
  /** Creates a task run in Pending; idempotent on (flow_run_id, task_key, dynamic_key). */
  readonly createTaskRun: (run: TaskRunCreate, options?: CreateRunOptions) => Effect.Effect<CreatedRun, ClientError>
  readonly readTaskRun: (id: string) => Effect.Effect<TaskRun, ClientError>
  readonly readTaskRuns: (request: TaskRunFilterRequest) => Effect.Effect<ReadonlyArray<TaskRun>, ClientError>
  /** Asks the orchestrator to move a run to `state`: the answer says what was decided. */
  readonly proposeState: (run: RunRef, state: StateCreate, options?: { readonly force?: boolean }) => Effect.Effect<OrchestrationResult, ClientError>
  /** A run's states, oldest first. */
  readonly readStates: (run: RunRef) => Effect.Effect<ReadonlyArray<State>, ClientError>
  readonly createLogs: (logs: ReadonlyArray<LogCreate>) => Effect.Effect<void, ClientError>
  /**
   * Resumes when a task run told to WAIT for a concurrency slot may ask again because a slot under its tag was given
   * back; never, when nothing will wake it (its WAIT's delay is then the wait). It never fails.
   */
  readonly slotWait: (run: RunRef) => Effect.Effect<void>
  /** Records that a running run is alive (its `heartbeat_time` becomes now), so crashed runs can be detected. */
  readonly heartbeat: (run: RunRef) => Effect.Effect<void, ClientError>
}>() {}

/** Turns an infrastructure failure into `OrionUnavailable`, keeping not-found errors as they are. */
export const unavailable = (e: SqlError | { readonly message: string }) => new OrionUnavailable({ message: e.message })
