/** Handlers of `/api/deployments`: the DeploymentRepository, plus scheduled and manual runs made through the orchestrator. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { Deployment } from "../../domain/deployment.js"
import { defaultRunPolicy } from "../../domain/policy.js"
import { FlowRun } from "../../domain/runs.js"
import { currentDate } from "../../storage/repositories/common.js"
import { deploymentNames } from "../../storage/names.js"
import { DeploymentRepository } from "../../storage/repositories/deployments.js"
import { RunRepository } from "../../storage/repositories/runs.js"
import { Orchestrator } from "../../../runtime/orchestrator.js"
import { OrionApi } from "../api.js"
import { checkSchedule, horizon, scheduleRuns, windowFrom } from "../scheduling.js"
import { createdOrFound, json, lift, liftRead } from "./respond.js"

export const DeploymentsLive = HttpApiBuilder.group(OrionApi, "deployments", (handlers) =>
  Effect.gen(function*() {
    const deployments = yield* DeploymentRepository
    const runs = yield* RunRepository
    const orchestrator = yield* Orchestrator
    const sqlContext = yield* Effect.context<SqlClient.SqlClient>()
    // The scheduler's horizon (ORION_SERVICES_SCHEDULER_MAX_RUNS, …_MAX_SCHEDULED_TIME); an invalid one stops the server.
    const ahead = yield* horizon
    /** Runs for an active schedule's horizon, as the scheduler would make them (spec §4.4, §5.2). */
    const scheduleAhead = (deployment: Deployment) =>
      deployment.is_schedule_active && deployment.schedule !== null
        ? Effect.flatMap(currentDate, (now) => scheduleRuns(deployment, windowFrom(now, ahead)))
        : Effect.void
    const provideOrchestrator = Effect.provideService(Orchestrator, orchestrator)
    /** The orchestrator forgets runs deleted under it (unstarted runs of a paused, changed or deleted schedule). */
    const forget = (ids: ReadonlyArray<string>) => Effect.forEach(ids, (id) => orchestrator.invalidate(id), { discard: true })
    return handlers
      .handle("create", ({ payload }) =>
        lift(Effect.gen(function*() {
          yield* checkSchedule(payload.schedule)
          const upserted = yield* deployments.upsert(payload)
          yield* forget(upserted.removedRuns)
          yield* scheduleAhead(upserted.value)
          return yield* createdOrFound(Deployment, upserted)
        })).pipe(provideOrchestrator))
      .handle("getByName", ({ path }) => liftRead(deployments.getByName(path.flow_name, path.deployment_name)))
      .handle("get", ({ path }) => liftRead(deployments.get(path.id)))
      .handle("filter", ({ payload }) => liftRead(deployments.filter(payload)))
      .handle("names", ({ payload }) => liftRead(Effect.provide(deploymentNames(payload), sqlContext)))
      .handle("count", ({ payload }) => liftRead(deployments.count(payload)))
      .handle("delete", ({ path }) => lift(Effect.flatMap(deployments.delete(path.id), forget)))
      .handle("schedule", ({ path, payload }) =>
        lift(Effect.gen(function*() {
          const deployment = yield* deployments.get(path.id)
          const start = payload.start_time ?? (yield* currentDate)
          yield* scheduleRuns(deployment, {
            start,
            end: payload.end_time ?? new Date(start.getTime() + ahead.maxScheduledSeconds * 1000),
            maxRuns: payload.max_runs ?? ahead.maxRuns
          })
          return null
        })).pipe(provideOrchestrator))
      .handle("setScheduleActive", ({ path }) =>
        lift(Effect.flatMap(deployments.setScheduleActive(path.id, true), scheduleAhead)).pipe(provideOrchestrator))
      .handle("setScheduleInactive", ({ path }) =>
        lift(Effect.flatMap(deployments.changeScheduleActive(path.id, false), (r) => forget(r.removedRuns))))
      .handle("createFlowRun", ({ path, payload }) =>
        lift(Effect.gen(function*() {
          const deployment = yield* deployments.get(path.id)
          const created = yield* orchestrator.createFlowRun({
            name: payload.name,
            flow_id: deployment.flow_id,
            deployment_id: deployment.id,
            flow_version: null,
            parameters: { ...deployment.parameters, ...payload.parameters },
            context: payload.context,
            empirical_policy: deployment.empirical_policy,
            tags: [...new Set([...deployment.tags, ...payload.tags])],
            idempotency_key: payload.idempotency_key,
            parent_task_run_id: null,
            state: payload.state
          })
          return yield* json(FlowRun, yield* runs.getFlowRun(created.id), created.created ? 201 : 200)
        })))
  }))
