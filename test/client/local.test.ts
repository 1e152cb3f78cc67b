/** The local OrionClient on a real database: a whole flow run's life through the one client interface. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { defaultRunPolicy, newUuid, States, type Uuid } from "../../src/domain/index.js"
import { layerOnDatabase } from "../../src/client/local.js"
import { OrionClient } from "../../src/client/orion-client.js"
import { EventBus } from "../../runtime/event-bus.js"
import { databases } from "../support/databases.js"
import { flowRunCreate, taskRunCreate } from "../support/orchestrator.js"

describe.each(databases)("local OrionClient on $name", (db) => {
  const provide = <A, E>(e: Effect.Effect<A, E, OrionClient>) =>
    Effect.provide(e, layerOnDatabase.pipe(Layer.provide(EventBus.layer), Layer.provide(db.layer())))

  it.effect("records a flow run, its task run, states and logs, readable back through the same client", () =>
    provide(Effect.gen(function*() {
      const client = yield* OrionClient
      const flow = yield* client.ensureFlow({ name: "etl", tags: ["nightly"] })
      expect((yield* client.ensureFlow({ name: "etl", tags: [] })).id).toBe(flow.id)
      const run = yield* client.createFlowRun(flowRunCreate(flow.id, { parameters: { n: 3 }, tags: ["t"] }))
      expect(run).toMatchObject({ created: true, state: { type: "PENDING" } })
      expect((yield* client.proposeState({ kind: "flow_run", id: run.id }, States.Running())).status).toBe("ACCEPT")
      const task = yield* client.createTaskRun(taskRunCreate(run.id, { task_key: "extract", dynamic_key: "0", empirical_policy: defaultRunPolicy }))
      yield* client.proposeState({ kind: "task_run", id: task.id }, States.Running())
      yield* client.proposeState({ kind: "task_run", id: task.id }, States.Completed({ data: { encoding: "json", blob: "[1,2,3]" } }))
      yield* client.proposeState({ kind: "flow_run", id: run.id }, States.Completed())
      yield* client.createLogs([{ name: "etl", level: 20, message: "extracted 3 rows", timestamp: new Date(), flow_run_id: run.id, task_run_id: task.id }])

      const stored = yield* client.readFlowRun(run.id)
      expect(stored).toMatchObject({ id: run.id, flow_id: flow.id, parameters: { n: 3 }, tags: ["t"], state_type: "COMPLETED", run_count: 1 })
      expect(stored.state?.name).toBe("Completed")
      const taskRun = yield* client.readTaskRun(task.id)
      expect(taskRun.state?.data).toEqual({ encoding: "json", blob: "[1,2,3]" })
      expect((yield* client.readStates({ kind: "task_run", id: task.id })).map((s) => s.name)).toEqual(["Pending", "Running", "Completed"])
      expect((yield* client.readTaskRuns({ flow_runs: { id: { any_: [run.id] } }, limit: 200, offset: 0, sort: "ID_DESC" })).map((t) => t.id)).toEqual([task.id])
    })))

  it.effect("unknown ids are typed not-found errors", () =>
    provide(Effect.gen(function*() {
      const client = yield* OrionClient
      expect(yield* Effect.flip(client.readFlowRun(newUuid()))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
      expect(yield* Effect.flip(client.proposeState({ kind: "task_run", id: newUuid() as Uuid }, States.Running()))).toMatchObject({ _tag: "ObjectNotFound" })
      expect(yield* Effect.flip(client.createFlowRun(flowRunCreate(newUuid())))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow" })
    })))
})
