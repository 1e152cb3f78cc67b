/**
 * `flow-run cancel --force`: for a run whose process is gone, so nothing would ever stop it — the flow run, its
 * subflow runs and every task run under it that has not finished are marked Cancelled (forced), without that process.
 */
import { Clock, Effect } from "effect"
import type { OrionApiClient } from "../client/typed.js"
import type { FlowRun, TaskRun } from "../domain/runs.js"
import { States, type StateType } from "../domain/state.js"
import { heartbeatInterval } from "../settings.js"

const unfinished: Array<StateType> = ["SCHEDULED", "PENDING", "RUNNING", "CANCELLING"]
const message = "Cancelled from the command line (forced: its process was not waited for)"

const allPages = <A>(page: (offset: number) => Effect.Effect<ReadonlyArray<A>, any>) =>
  Effect.gen(function*() {
    const out: Array<A> = []
    for (let offset = 0; ; offset += 200) {
      const rows = yield* page(offset)
      out.push(...rows)
      if (rows.length < 200) return out
    }
  })

export interface ForcedCounts { taskRuns: number; subflowRuns: number }

/** Marks the flow run Cancelled, then — depth first — its subflow runs and its task runs that have not finished. */
export const forceCancelTree = (client: OrionApiClient, flowRunId: FlowRun["id"], counts: ForcedCounts = { taskRuns: 0, subflowRuns: 0 }): Effect.Effect<ForcedCounts, any> =>
  Effect.gen(function*() {
    yield* client.flow_runs.setState({ path: { id: flowRunId }, payload: { state: States.Cancelled({ message }), force: true } })
    const tasks: Array<TaskRun> = yield* allPages((offset) => client.task_runs.filter({
      payload: { flow_runs: { id: { any_: [flowRunId] } }, task_runs: { state: { type: { any_: unfinished } } }, sort: "ID_DESC", limit: 200, offset }
    }))
    const subflows: Array<FlowRun> = tasks.length === 0 ? [] : yield* allPages((offset) => client.flow_runs.filter({
      payload: { flow_runs: { parent_task_run_id: { any_: tasks.map((t) => t.id) } }, sort: "ID_DESC", limit: 200, offset }
    }))
    // A subflow's placeholder task run follows its subflow's state: it is cancelled through the subflow.
    const placeholders = new Set(subflows.map((s) => s.parent_task_run_id))
    for (const sub of subflows) {
      if (sub.state_type !== null && !unfinished.includes(sub.state_type)) continue
      counts.subflowRuns += 1
      yield* forceCancelTree(client, sub.id, counts)
    }
    for (const task of tasks) {
      if (placeholders.has(task.id)) continue
      counts.taskRuns += 1
      yield* client.task_runs.setState({ path: { id: task.id }, payload: { state: States.Cancelled({ message }), force: true } })
    }
    return counts
  })

/**
 * How long ago a running run's process last said it is alive, when that is longer than three heartbeat intervals
 * (this command's `ORION_HEARTBEAT_INTERVAL`) — a sign that the process may be gone; undefined otherwise.
 */
export const silentFor = (run: FlowRun) =>
  Effect.gen(function*() {
    const every = yield* Effect.orElseSucceed(heartbeatInterval, () => 30)
    const last = run.heartbeat_time ?? run.start_time
    if (run.state_type !== "RUNNING" && run.state_type !== "CANCELLING") return undefined
    if (last === null) return undefined
    const silent = ((yield* Clock.currentTimeMillis) - last.getTime()) / 1000
    return silent > 3 * every ? silent : undefined
  })
