/** An orchestrator on a fresh test database, plus small helpers to make flows and runs for orchestration tests. */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import {
  defaultRunPolicy, formatTimestamp, newUuid, States,
  type FlowRunCreate, type RunPolicy, type StateCreate, type TaskRunCreate, type Uuid
} from "../../src/domain/index.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"
import type { TestDatabase } from "./databases.js"

export const orchestratorLayer = (db: TestDatabase, options: Orch.OrchestratorOptions = {}) =>
  Orch.layer(options).pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(db.layer()))

export const insertFlow = (name = `flow-${newUuid()}`) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const id = newUuid()
    const now = formatTimestamp(new Date())
    yield* sql`INSERT INTO flow (id, created, updated, name, tags) VALUES (${id}, ${now}, ${now}, ${name}, '[]')`
    return id
  })

export const flowRunCreate = (flowId: Uuid, over: Partial<FlowRunCreate> = {}): FlowRunCreate => ({
  name: null, flow_id: flowId, deployment_id: null, flow_version: null, parameters: {}, context: {},
  empirical_policy: defaultRunPolicy, tags: [], idempotency_key: null, parent_task_run_id: null, state: null, ...over
})

export const taskRunCreate = (flowRunId: Uuid, over: Partial<TaskRunCreate> = {}): TaskRunCreate => ({
  name: null, flow_run_id: flowRunId, task_key: "task", dynamic_key: newUuid(), cache_key: null, cache_expiration: null,
  task_version: null, empirical_policy: defaultRunPolicy, tags: [], task_inputs: {}, state: null, ...over
})

/** A new flow with one flow run, created in `initial` (default Pending). */
export const newFlowRun = (over: Partial<FlowRunCreate> = {}) =>
  Effect.gen(function*() {
    const o = yield* Orch.Orchestrator
    const flowId = yield* insertFlow()
    const { id } = yield* o.createFlowRun(flowRunCreate(flowId, over))
    return id
  })

/** A new task run in a new flow run. */
export const newTaskRun = (over: Partial<TaskRunCreate> & { readonly policy?: RunPolicy } = {}) =>
  Effect.gen(function*() {
    const o = yield* Orch.Orchestrator
    const flowRunId = yield* newFlowRun()
    const { policy, ...rest } = over
    const { id } = yield* o.createTaskRun(taskRunCreate(flowRunId, { ...(policy ? { empirical_policy: policy } : {}), ...rest }))
    return id
  })

export const propose = (kind: "flow_run" | "task_run", id: string, state: StateCreate, force = false) =>
  Effect.flatMap(Orch.Orchestrator, (o) => o.propose({ kind, id: id as Uuid }, state, { force }))

export { States }
