/**
 * Handlers of `/api/flow_runs`, `/api/task_runs` and the state routes: creates and `set_state` go through the
 * orchestrator (the only writer of run states); reads, history, graph and decisions through the RunRepository.
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Conflict } from "../../domain/errors.js"
import { OrchestrationResult } from "../../domain/orchestration.js"
import { FlowRun, type RunKind, TaskRun } from "../../domain/runs.js"
import type { Uuid } from "../../domain/primitives.js"
import type { StateCreate } from "../../domain/state.js"
import { DeploymentRepository } from "../../storage/repositories/deployments.js"
import { RunRepository } from "../../storage/repositories/runs.js"
import { Orchestrator } from "../../../runtime/orchestrator.js"
import { OrionApi } from "../api.js"
import { json, lift } from "./respond.js"

/** `set_state`: the orchestrator's answer; 201 when a state was stored (ACCEPT, REJECT), 200 when not (spec §3.7). */
const setState = (kind: RunKind, id: Uuid, state: StateCreate, force: boolean) =>
  Effect.flatMap(Orchestrator, (orchestrator) =>
    Effect.flatMap(orchestrator.propose({ kind, id }, state, { force }), (result) =>
      json(OrchestrationResult, result, result.state !== null ? 201 : 200)))

export const FlowRunsLive = HttpApiBuilder.group(OrionApi, "flow_runs", (handlers) =>
  Effect.gen(function*() {
    const runs = yield* RunRepository
    const deployments = yield* DeploymentRepository
    const orchestrator = yield* Orchestrator
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
      .handle("count", ({ payload }) => lift(runs.countFlowRuns(payload)))
      .handle("history", ({ payload }) => lift(runs.history("flow_run", payload)))
      .handle("get", ({ path }) => lift(runs.getFlowRun(path.id)))
      .handle("graph", ({ path }) => lift(runs.graph(path.id)))
      .handle("filter", ({ payload }) => lift(runs.filterFlowRuns(payload)))
      .handle("delete", ({ path }) => lift(Effect.zipLeft(runs.deleteFlowRun(path.id), orchestrator.invalidate())))
      .handle("setState", ({ path, payload }) => lift(setState("flow_run", path.id, payload.state, payload.force)))
      .handle("decisions", ({ path }) => lift(runs.readDecisions("flow_run", path.id)))
  }))

export const TaskRunsLive = HttpApiBuilder.group(OrionApi, "task_runs", (handlers) =>
  Effect.gen(function*() {
    const runs = yield* RunRepository
    const orchestrator = yield* Orchestrator
    return handlers
      .handle("create", ({ payload }) =>
        lift(Effect.gen(function*() {
          const created = yield* orchestrator.createTaskRun(payload)
          const run = yield* runs.getTaskRun(created.id)
          const sameIdentity = run.flow_run_id === payload.flow_run_id && run.task_key === payload.task_key && run.dynamic_key === payload.dynamic_key
          if (!created.created && !sameIdentity) {
            return yield* new Conflict({ detail: `Task run ${run.id} already exists, with another flow run, task key or dynamic key` })
          }
          return yield* json(TaskRun, run, created.created ? 201 : 200)
        })))
      .handle("count", ({ payload }) => lift(runs.countTaskRuns(payload)))
      .handle("history", ({ payload }) => lift(runs.history("task_run", payload)))
      .handle("get", ({ path }) => lift(runs.getTaskRun(path.id)))
      .handle("filter", ({ payload }) => lift(runs.filterTaskRuns(payload)))
      .handle("delete", ({ path }) => lift(Effect.zipLeft(runs.deleteTaskRun(path.id), orchestrator.invalidate(path.id))))
      .handle("setState", ({ path, payload }) => lift(setState("task_run", path.id, payload.state, payload.force)))
      .handle("decisions", ({ path }) => lift(runs.readDecisions("task_run", path.id)))
  }))

export const FlowRunStatesLive = HttpApiBuilder.group(OrionApi, "flow_run_states", (handlers) =>
  Effect.map(RunRepository, (runs) =>
    handlers
      .handle("get", ({ path }) => lift(runs.readState("flow_run", path.id)))
      .handle("list", ({ urlParams }) => lift(runs.readStates("flow_run", urlParams.flow_run_id)))))

export const TaskRunStatesLive = HttpApiBuilder.group(OrionApi, "task_run_states", (handlers) =>
  Effect.map(RunRepository, (runs) =>
    handlers
      .handle("get", ({ path }) => lift(runs.readState("task_run", path.id)))
      .handle("list", ({ urlParams }) => lift(runs.readStates("task_run", urlParams.task_run_id)))))
