/**
 * Shared by the examples: prints a flow run's final state and, indented beneath it, each of its task runs with the
 * states it went through (subflow runs nested under the task run that stands for them in their parent).
 */
import { Effect } from "effect"
import { Orion, type State } from "@orion-ts/orion"
// The client is not exported from "@orion-ts/orion" (yet); the examples read the runs back through it.
import { OrionClient } from "../src/client/orion-client.js"

const printFlowRun = (flowRunId: string, indent: string): Effect.Effect<void, unknown, OrionClient> =>
  Effect.gen(function*() {
    const client = yield* OrionClient
    const run = yield* client.readFlowRun(flowRunId)
    const flow = yield* client.readFlow(run.flow_id)
    const state = run.state
    console.log(`${indent}flow run '${run.name}' of flow '${flow.name}': ${state?.name ?? "no state"}${state?.message ? ` — ${state.message}` : ""}`)
    const taskRuns = yield* client.readTaskRuns({ flow_runs: { id: { any_: [run.id] } }, sort: "ID_DESC", limit: 200, offset: 0 })
    for (const taskRun of [...taskRuns].reverse()) {
      const history = yield* client.readStates({ kind: "task_run", id: taskRun.id })
      const last = history[history.length - 1]
      console.log(`${indent}  task run '${taskRun.name}': ${history.map((s) => s.name).join(" → ")}${last?.message ? ` — ${last.message}` : ""}`)
      if (taskRun.task_key.startsWith("subflow:")) {
        const children = yield* client.readFlowRuns({ flow_runs: { parent_task_run_id: { any_: [taskRun.id] } }, sort: "ID_DESC", limit: 10, offset: 0 })
        for (const child of children) yield* printFlowRun(child.id, `${indent}    `)
      }
    }
  })

/** Prints the flow run that `state` is the final state of, with its task runs and subflow runs. */
export const report = (state: State): Promise<void> => {
  const flowRunId = state.state_details.flow_run_id
  if (flowRunId === null) return Promise.reject(new Error(`state ${state.name} belongs to no flow run`))
  return Effect.runPromise(Orion.withServices(printFlowRun(flowRunId, "")))
}
