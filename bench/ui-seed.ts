/**
 * Seeds an Orion SQLite file for the dashboard's benchmark and browser tests, through the orchestrator as real runs
 * are written: many flow runs of one flow, or one flow run with many task runs.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { formatTimestamp, newUuid, States, type FlowRunCreate, type TaskRunCreate, type Uuid } from "../src/domain/index.js"
import * as Database from "../src/storage/database.js"
import { EventBus } from "../runtime/event-bus.js"
import * as Orch from "../runtime/orchestrator.js"

const flowRun = (flowId: Uuid): FlowRunCreate => ({
  name: null, flow_id: flowId, deployment_id: null, flow_version: null, parameters: {}, context: {},
  empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }, tags: [],
  idempotency_key: null, parent_task_run_id: null, state: null
})

const taskRun = (flowRunId: Uuid, i: number, id: Uuid, upstream: Uuid | null): TaskRunCreate => ({
  id, name: `step-${i}`, flow_run_id: flowRunId, task_key: "step", dynamic_key: String(i), cache_key: null, cache_expiration: null,
  task_version: null, empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }, tags: [],
  task_inputs: upstream === null ? {} : { rows: [{ input_type: "task_run", id: upstream }] }, state: null
})

/** Task runs come in chains of this many, each fed by the one before it: the dependency graph has that many columns. */
export const CHAIN = 10

const newFlow = (name: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const id = newUuid()
    const now = formatTimestamp(new Date())
    return Effect.as(sql`INSERT INTO flow (id, created, updated, name, tags) VALUES (${id}, ${now}, ${now}, ${name}, '[]')`, id)
  })

const onFile = (file: string) => Effect.provide(Orch.layer().pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(Database.layerFromUrl(file))))

/**
 * `n` flow runs of a flow named `flowName`: a third Scheduled a day ahead, a third Completed, a third Failed. (Not left
 * Pending: `orion start`'s crash detection ends a run Pending for over 90 s Crashed, as it should.)
 */
export const seedFlowRuns = (file: string, n: number, flowName = "bench-ui") =>
  Effect.runPromise(Effect.gen(function*() {
    const o = yield* Orch.Orchestrator
    const flowId = yield* newFlow(flowName)
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
      Effect.gen(function*() {
        if (i % 3 === 0) {
          yield* o.createFlowRun({ ...flowRun(flowId), state: States.Scheduled({ scheduledTime: new Date(Date.now() + 86_400_000) }) })
          return
        }
        const { id } = yield* o.createFlowRun(flowRun(flowId))
        yield* o.propose({ kind: "flow_run", id }, States.Running())
        yield* o.propose({ kind: "flow_run", id }, i % 3 === 1 ? States.Completed() : States.Failed())
      }), { concurrency: 200, discard: true })
  }).pipe(onFile(file)))

/**
 * One Completed flow run of a flow named `flowName` with `n` task runs, each taken Pending → Running → Completed (every
 * seventh Failed), in chains of CHAIN where each task run's input is the result of the one before (the ids are chosen
 * up front, so the runs are still created concurrently); answers the flow run's id.
 */
export const seedFlowRunWithTaskRuns = (file: string, n: number, flowName = "bench-ui-tasks") =>
  Effect.runPromise(Effect.gen(function*() {
    const o = yield* Orch.Orchestrator
    const flowId = yield* newFlow(flowName)
    const { id: flowRunId } = yield* o.createFlowRun(flowRun(flowId))
    yield* o.propose({ kind: "flow_run", id: flowRunId }, States.Running())
    const ids = Array.from({ length: n }, () => newUuid())
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
      Effect.gen(function*() {
        const { id } = yield* o.createTaskRun(taskRun(flowRunId, i, ids[i]!, i % CHAIN === 0 ? null : ids[i - 1]!), { start: States.Running() })
        yield* o.propose({ kind: "task_run", id }, i % 7 === 6 ? States.Failed() : States.Completed())
      }), { concurrency: 200, discard: true })
    yield* o.propose({ kind: "flow_run", id: flowRunId }, States.Completed())
    return flowRunId
  }).pipe(onFile(file)))
