/** `orion demo`: creates the database if needed and takes a small flow run through the orchestrator, printing each decision. */
import * as SqlClient from "@effect/sql/SqlClient"
import { Console, Effect, Layer } from "effect"
import { defaultRunPolicy, formatTimestamp, newUuid, States, type StateCreate, type Uuid } from "../domain/index.js"
import * as Database from "../storage/database.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"

const ensureFlow = (name: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const now = formatTimestamp(new Date())
    yield* sql`INSERT INTO flow (id, created, updated, name, tags) VALUES (${newUuid()}, ${now}, ${now}, ${name}, '[]') ON CONFLICT (name) DO NOTHING`
    const rows = yield* sql<{ id: Uuid }>`SELECT id FROM flow WHERE name = ${name}`
    return rows[0]!.id
  })

export const demo = Effect.gen(function*() {
  const db = yield* Database.Database
  const o = yield* Orch.Orchestrator
  yield* Console.log(`Orion database: ${db.url} (${db.dialect})`)
  const flowId = yield* ensureFlow("orion-demo")
  const flowRun = yield* o.createFlowRun({
    name: null, flow_id: flowId, deployment_id: null, flow_version: null, parameters: {}, context: {},
    empirical_policy: defaultRunPolicy, tags: ["demo"], idempotency_key: null, parent_task_run_id: null, state: null
  })
  yield* Console.log(`flow run ${flowRun.id}: ${flowRun.state?.name}`)
  const step = (kind: "flow_run" | "task_run", id: Uuid, state: StateCreate, label: string) =>
    Effect.tap(o.propose({ kind, id }, state), (r) =>
      Console.log(`  ${label.padEnd(34)} → ${r.status}${r.state ? ` ${r.state.name}` : ""}${"reason" in r.details && r.details.reason ? ` (${r.details.reason})` : ""}`))
  yield* step("flow_run", flowRun.id, States.Running(), "flow run proposes Running")
  const task = yield* o.createTaskRun({
    name: null, flow_run_id: flowRun.id, task_key: "demo-task", dynamic_key: "0", cache_key: null, cache_expiration: null,
    task_version: null, empirical_policy: { max_retries: 1, retry_delay_seconds: 0, retry_jitter_factor: 0 }, tags: [], task_inputs: {}, state: null
  })
  yield* step("task_run", task.id, States.Running(), "task run proposes Running")
  yield* step("task_run", task.id, States.Failed({ message: "a transient error" }), "task run proposes Failed")
  yield* step("task_run", task.id, States.Running(), "task run proposes Running again")
  yield* step("task_run", task.id, States.Completed(), "task run proposes Completed")
  yield* step("task_run", task.id, States.Running(), "task run proposes Running after end")
  yield* step("flow_run", flowRun.id, States.Completed(), "flow run proposes Completed")
  yield* Console.log("Every decision above is recorded in the decision table; every stored state in the event table.")
}).pipe(Effect.provide(Orch.layer().pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(Database.layer))))
