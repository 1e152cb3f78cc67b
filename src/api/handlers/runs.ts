/**
 * Handlers of `/api/flow_runs`, `/api/task_runs` and the state routes: creates and `set_state` go through the
 * orchestrator (the only writer of run states), batches of them all at once; reads, history, graph, decisions and
 * heartbeats through the RunRepository.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect } from "effect"
import { Conflict } from "../../domain/errors.js"
import { OrchestrationResult } from "../../domain/orchestration.js"
import type { CreateOutcome, SetStateItem, SetStateOutcome, TaskRunCreateItem } from "../../domain/batches.js"
import { FlowRun, type RunKind, TaskRun, type TaskRunCreate } from "../../domain/runs.js"
import type { Uuid } from "../../domain/primitives.js"
import type { StateCreate } from "../../domain/state.js"
import { DeploymentRepository } from "../../storage/repositories/deployments.js"
import { RunRepository } from "../../storage/repositories/runs.js"
import { taskRunSummaries } from "../../storage/task-run-summaries.js"
import { flowRunSummaries } from "../../storage/flow-run-summaries.js"
import { taskRunGraph } from "../../storage/task-run-graph.js"
import { MAX_SUMMARY_PAGE } from "../../domain/task-run-summary.js"
import { type OrchestrationFailed, Orchestrator } from "../../../runtime/orchestrator.js"
import { OrionApi } from "../api.js"
import { json, lift, liftRead } from "./respond.js"

/** `set_state`: the orchestrator's answer; 201 when a state was stored (ACCEPT, REJECT), 200 when not (spec §3.7). */
const setState = (kind: RunKind, id: Uuid, state: StateCreate, force: boolean) =>
  Effect.flatMap(Orchestrator, (orchestrator) =>
    Effect.flatMap(orchestrator.propose({ kind, id }, state, { force }), (result) =>
      json(OrchestrationResult, result, result.state !== null ? 201 : 200)))

/**
 * Every item of a batch at once (so the orchestrator commits them together), answered in order once all have settled.
 * A failure of the database fails the batch (some items may have been applied: a client retries as after a lost answer).
 */
const allSettled = <I, O, E>(items: ReadonlyArray<I>, one: (item: I) => Effect.Effect<O, E>) =>
  Effect.flatMap(Effect.forEach(items, (item) => Effect.either(one(item)), { concurrency: "unbounded" }), Effect.all)

/** A batch of proposals, each answered with its result or its run's absence. */
const setStates = (kind: RunKind, items: ReadonlyArray<SetStateItem>) =>
  Effect.flatMap(Orchestrator, (orchestrator) =>
    allSettled(items, (item): Effect.Effect<SetStateOutcome, OrchestrationFailed> =>
      orchestrator.propose({ kind, id: item.id }, item.state, { force: item.force }).pipe(
        Effect.map((result) => ({ result })),
        Effect.catchTag("ObjectNotFound", (error) => Effect.succeed({ error }))
      )))

export const FlowRunsLive = HttpApiBuilder.group(OrionApi, "flow_runs", (handlers) =>
  Effect.gen(function*() {
    const runs = yield* RunRepository
    const deployments = yield* DeploymentRepository
    const orchestrator = yield* Orchestrator
    const sqlContext = yield* Effect.context<SqlClient.SqlClient>()
    return handlers
      .handle("create", ({ payload }) =>
        lift(Effect.gen(function*() {
          if (payload.deployment_id !== null) {
            const deployment = yield* deployments.get(payload.deployment_id)
            if (deployment.flow_id !== payload.flow_id) {
              return yield* new Conflict({ detail: `Deployment ${deployment.id} belongs to flow ${deployment.flow_id}, not to flow ${payload.flow_id}` })
            }
          }
          const created = yield* orchestrator.createFlowRun(payload)
          const run = yield* runs.getFlowRun(created.id)
          if (!created.created && payload.id !== undefined && run.flow_id !== payload.flow_id) {
            return yield* new Conflict({ detail: `Flow run ${payload.id} already exists, as a run of flow ${run.flow_id}` })
          }
          return yield* json(FlowRun, run, created.created ? 201 : 200)
        })))
      .handle("update", ({ path, payload }) => lift(runs.updateFlowRun(path.id, payload)))
      .handle("count", ({ payload }) => liftRead(runs.countFlowRuns(payload)))
      .handle("history", ({ payload }) => liftRead(runs.history("flow_run", payload)))
      .handle("get", ({ path }) => liftRead(runs.getFlowRun(path.id)))
      .handle("graph", ({ path }) => liftRead(runs.graph(path.id)))
      .handle("taskRunGraph", ({ path }) => liftRead(Effect.provide(taskRunGraph(path.id), sqlContext)))
      .handle("taskRunSummaries", ({ path, urlParams }) =>
        liftRead(Effect.provide(taskRunSummaries(path.id, urlParams.after ?? null, urlParams.limit ?? MAX_SUMMARY_PAGE), sqlContext)))
      .handle("filter", ({ payload }) => liftRead(runs.filterFlowRuns(payload)))
      .handle("summaries", ({ payload }) => liftRead(Effect.provide(flowRunSummaries(payload), sqlContext)))
      .handle("delete", ({ path }) => lift(Effect.zipLeft(runs.deleteFlowRun(path.id), orchestrator.invalidate())))
      .handle("setState", ({ path, payload }) => lift(setState("flow_run", path.id, payload.state, payload.force)))
      .handle("setStates", ({ payload }) => lift(setStates("flow_run", payload)))
      .handle("decisions", ({ path }) => liftRead(runs.readDecisions("flow_run", path.id)))
      .handle("heartbeat", ({ path }) => lift(runs.heartbeat("flow_run", path.id)))
  }))

export const TaskRunsLive = HttpApiBuilder.group(OrionApi, "task_runs", (handlers) =>
  Effect.gen(function*() {
    const runs = yield* RunRepository
    const orchestrator = yield* Orchestrator
    const sameIdentity = (run: TaskRun, payload: TaskRunCreate) =>
      run.flow_run_id === payload.flow_run_id && run.task_key === payload.task_key && run.dynamic_key === payload.dynamic_key
    const taken = (run: TaskRun) => new Conflict({ detail: `Task run ${run.id} already exists, with another flow run, task key or dynamic key` })
    /** One create of a batch; a run found by the id given, rather than created, must be the same task run. */
    const createOne = ({ run: payload, start }: TaskRunCreateItem): Effect.Effect<CreateOutcome, OrchestrationFailed | SqlError> =>
      Effect.gen(function*() {
        const created = yield* orchestrator.createTaskRun(payload, start === null ? undefined : { start })
        if (!created.created && payload.id !== undefined) {
          const run = yield* runs.getTaskRun(created.id)
          if (!sameIdentity(run, payload)) return { error: taken(run) }
        }
        return { run: { id: created.id, created: created.created, state: created.state, ...(created.started ? { started: created.started } : {}) } }
      }).pipe(Effect.catchTag("ObjectNotFound", (error) => Effect.succeed({ error })))
    return handlers
      .handle("create", ({ payload }) =>
        lift(Effect.gen(function*() {
          const created = yield* orchestrator.createTaskRun(payload)
          const run = yield* runs.getTaskRun(created.id)
          if (!created.created && !sameIdentity(run, payload)) return yield* taken(run)
          return yield* json(TaskRun, run, created.created ? 201 : 200)
        })))
      .handle("createMany", ({ payload }) => lift(allSettled(payload, createOne)))
      .handle("count", ({ payload }) => liftRead(runs.countTaskRuns(payload)))
      .handle("history", ({ payload }) => liftRead(runs.history("task_run", payload)))
      .handle("get", ({ path }) => liftRead(runs.getTaskRun(path.id)))
      .handle("filter", ({ payload }) => liftRead(runs.filterTaskRuns(payload)))
      .handle("delete", ({ path }) => lift(Effect.zipLeft(runs.deleteTaskRun(path.id), orchestrator.invalidate(path.id))))
      .handle("setState", ({ path, payload }) => lift(setState("task_run", path.id, payload.state, payload.force)))
      .handle("setStates", ({ payload }) => lift(setStates("task_run", payload)))
      .handle("decisions", ({ path }) => liftRead(runs.readDecisions("task_run", path.id)))
      .handle("heartbeat", ({ path }) => lift(runs.heartbeat("task_run", path.id)))
      .handle("waitForSlot", ({ path, payload }) =>
        Effect.race(Effect.as(orchestrator.slotWait(path.id), { woken: true }), Effect.as(Effect.sleep(Duration.seconds(payload.timeout_seconds)), { woken: false })))
  }))

export const FlowRunStatesLive = HttpApiBuilder.group(OrionApi, "flow_run_states", (handlers) =>
  Effect.map(RunRepository, (runs) =>
    handlers
      .handle("get", ({ path }) => liftRead(runs.readState("flow_run", path.id)))
      .handle("list", ({ urlParams }) => liftRead(runs.readStates("flow_run", urlParams.flow_run_id)))))

export const TaskRunStatesLive = HttpApiBuilder.group(OrionApi, "task_run_states", (handlers) =>
  Effect.map(RunRepository, (runs) =>
    handlers
      .handle("get", ({ path }) => liftRead(runs.readState("task_run", path.id)))
      .handle("list", ({ urlParams }) => liftRead(runs.readStates("task_run", urlParams.task_run_id)))))
