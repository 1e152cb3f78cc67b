/** Run logs from user code: `Effect.log*` in Effect bodies and `getRunLogger()` in async ones land in the log table with their run ids. */
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { flow, getRunLogger, NotInFlow, task } from "../../src/index.js"
import { RunLogs } from "../../runtime/run-logs.js"
import { databases } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, taskRunsOf } from "../support/sdk.js"

interface LogRow {
  readonly name: string
  readonly level: number
  readonly message: string
  readonly flow_run_id: string
  readonly task_run_id: string | null
}

/** Ships every buffered log line, then reads those of the flow run. */
const logsOf = (flowRunId: string) =>
  Effect.gen(function*() {
    yield* Effect.flatMap(RunLogs, (logs) => logs.flush)
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<LogRow>`SELECT name, level, message, flow_run_id, task_run_id FROM log WHERE flow_run_id = ${flowRunId}`
    return rows.map((r) => ({ ...r, level: Number(r.level) }))
  })

describe.each(databases)("run logs on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("Effect.log in an Effect flow and task: one log row each, with the flow run id and the task run id", () =>
      Effect.gen(function*() {
        const t = task({ name: "chatty" }, (n: number) => Effect.as(Effect.log("task says", n), n))
        const f = flow({ name: "logs-effect" }, () =>
          Effect.gen(function*() {
            yield* Effect.logWarning("flow warns")
            return yield* t(7)
          }))
        yield* Effect.log("outside any run: not a run log")
        const state = yield* f.run()
        const flowRunId = flowRunIdOf(state)
        const [taskRun] = yield* taskRunsOf(flowRunId)
        const rows = yield* logsOf(flowRunId)
        expect(rows).toContainEqual({ name: "orion.flow_runs.logs-effect", level: 30, message: "flow warns", flow_run_id: flowRunId, task_run_id: null })
        expect(rows).toContainEqual({ name: "orion.task_runs.chatty", level: 20, message: "task says 7", flow_run_id: flowRunId, task_run_id: taskRun!.id })
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT id FROM log WHERE message = ${"outside any run: not a run log"}`).toHaveLength(0)
      }))

    it.effect("getRunLogger() in an async flow and task: rows with the right run ids and levels", () =>
      Effect.gen(function*() {
        const t = task({ name: "async-chatty" }, async (n: number) => {
          getRunLogger().info("async task got", n)
          return n
        })
        const f = flow({ name: "logs-async" }, async () => {
          getRunLogger().debug("flow debug", { detail: true })
          const n = await t(3)
          getRunLogger().error("flow error after", n)
        })
        const state = yield* f.run()
        const flowRunId = flowRunIdOf(state)
        const [taskRun] = yield* taskRunsOf(flowRunId)
        const rows = yield* logsOf(flowRunId)
        // Below ORION_LOG_LEVEL (default INFO) the debug line is neither printed nor stored; the run's own lines are.
        expect(rows).toHaveLength(4)
        expect(rows).toContainEqual({ name: "orion.task_runs.async-chatty", level: 20, message: "async task got 3", flow_run_id: flowRunId, task_run_id: taskRun!.id })
        expect(rows).toContainEqual(expect.objectContaining({ name: "orion.flow_runs.logs-async", level: 20, message: expect.stringMatching(/^Created flow run '.+' \(.+\) for flow 'logs-async'$/) }))
        expect(rows).toContainEqual(expect.objectContaining({ name: "orion.flow_runs.logs-async", level: 20, message: expect.stringMatching(/finished in state Completed$/) }))
        expect(rows).toContainEqual({ name: "orion.flow_runs.logs-async", level: 40, message: "flow error after 3", flow_run_id: flowRunId, task_run_id: null })
      }))

    it("getRunLogger() outside a run throws NotInFlow", () => {
      expect(() => getRunLogger()).toThrow(NotInFlow)
    })
  })
})
