/** Reads a flow run's task-run dependency graph in the dashboard's columnar shape (TaskRunGraph) from the task runs' tracked inputs. */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { ObjectNotFound } from "../domain/errors.js"
import type { Uuid } from "../domain/primitives.js"
import type { StateType } from "../domain/state.js"
import type { TaskRunGraph } from "../domain/task-run-graph.js"

/** The ids of the task runs that fed a run's inputs, from its `task_inputs` (JSON text on SQLite, a value on PostgreSQL). */
const upstreamIds = (taskInputs: unknown): Array<string> => {
  const inputs = (typeof taskInputs === "string" ? JSON.parse(taskInputs) : taskInputs) as Record<string, ReadonlyArray<{ input_type?: string; id?: string }>> | null
  const ids: Array<string> = []
  for (const list of Object.values(inputs ?? {})) {
    for (const input of list) if (input.input_type === "task_run" && typeof input.id === "string") ids.push(input.id)
  }
  return ids
}

/** The graph of flow run `flowRunId`'s task runs; upstream runs of other flow runs are left out. 404 for an unknown flow run. */
export const taskRunGraph = (flowRunId: Uuid) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function*() {
      const found = yield* sql`SELECT 1 AS found FROM flow_run WHERE id = ${flowRunId}`
      if (found.length === 0) return yield* new ObjectNotFound({ thing: "Flow run", id: flowRunId })
      const rows = yield* sql<{ id: Uuid; name: string; state_type: StateType | null; task_inputs: unknown }>`
        SELECT id, name, state_type, task_inputs FROM task_run WHERE flow_run_id = ${flowRunId}
        ORDER BY expected_start_time ASC NULLS LAST, id ASC`
      const index = new Map<string, number>()
      rows.forEach((row, i) => index.set(row.id, i))
      const graph: TaskRunGraph = {
        id: rows.map((r) => r.id),
        name: rows.map((r) => r.name),
        state_type: rows.map((r) => r.state_type),
        upstream: rows.map((r) => {
          const seen = new Set<number>()
          for (const upstream of upstreamIds(r.task_inputs)) {
            const i = index.get(upstream)
            if (i !== undefined) seen.add(i)
          }
          return [...seen]
        })
      }
      return graph
    }))
