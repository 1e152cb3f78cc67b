/** Table tests: every rule of the core policies over every from/to pair of state types, through the real orchestrator. */
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { StateTypes, type StateType } from "../../src/domain/index.js"
import { Orchestrator } from "../../runtime/orchestrator.js"
import { databases } from "../support/databases.js"
import { newFlowRun, newTaskRun, orchestratorLayer, propose } from "../support/orchestrator.js"

const terminal: ReadonlyArray<StateType> = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]
const progress: Partial<Record<StateType, number>> = { SCHEDULED: 1, PENDING: 2, RUNNING: 3, CANCELLING: 4 }

/** What the spec says should happen: [status, deciding rule]. */
const expected = (kind: "flow_run" | "task_run", from: StateType, to: StateType): [string, string | null] => {
  if (terminal.includes(from)) return ["ABORT", "PreventTransitionsFromTerminalStates"]
  if (from === "CANCELLING" && to !== "CANCELLED" && to !== "CANCELLING") return ["ABORT", "HandleCancellingStateTransitions"]
  const [f, t] = [progress[from], progress[to]]
  if (kind === "flow_run" && f !== undefined && t !== undefined && t <= f) return ["ABORT", "PreventRedundantTransitions"]
  if (kind === "flow_run" && (from === "SCHEDULED" || from === "PENDING") && to === "CANCELLING") return ["REJECT", "CancelRunsNotYetRunning"]
  if (from === "SCHEDULED" && (to === "PENDING" || to === "RUNNING")) return ["WAIT", "WaitForScheduledTime"]
  return ["ACCEPT", null]
}

const inAnHour = () => new Date(Date.now() + 3600_000)

describe.each(databases)("core policies on $name", (db) => {
  layer(orchestratorLayer(db), { excludeTestServices: true })((it) => {
    for (const kind of ["flow_run", "task_run"] as const) {
      for (const from of StateTypes) {
        for (const to of StateTypes) {
          const [status, rule] = expected(kind, from, to)
          it.effect(`${kind} ${from} → ${to}: ${status}${rule ? ` by ${rule}` : ""}`, () =>
            Effect.gen(function*() {
              const id = kind === "flow_run" ? yield* newFlowRun() : yield* newTaskRun()
              const setUp = yield* propose(kind, id, {
                type: from, name: null, message: null, data: null,
                state_details: { flow_run_id: null, task_run_id: null, child_flow_run_id: null, scheduled_time: from === "SCHEDULED" ? inAnHour() : null, cache_key: null, cache_expiration: null }
              }, true)
              expect(setUp.status).toBe("ACCEPT")
              const result = yield* propose(kind, id, { type: to, name: null, message: null, data: null, state_details: { flow_run_id: null, task_run_id: null, child_flow_run_id: null, scheduled_time: null, cache_key: null, cache_expiration: null } })
              expect(result.status).toBe(status)
              const sql = yield* SqlClient.SqlClient
              const [decision] = yield* sql<{ rule: string | null; status: string }>`SELECT rule, status FROM decision WHERE run_id = ${id} ORDER BY id DESC LIMIT 1`
              expect(decision).toEqual({ rule, status })
              if (status === "ACCEPT") {
                expect(result.state?.type).toBe(to)
                expect(result.details).toEqual({ type: "accept_details" })
                if (to === "RUNNING") expect(result.state?.name).toBe(from === "RUNNING" ? "Rerunning" : "Running")
              } else if (status === "REJECT") {
                // A flow run that was not yet running is cancelled at once.
                expect(result.state).toMatchObject({ type: "CANCELLED", name: "Cancelled" })
                expect(result.details.type).toBe("reject_details")
                yield* Effect.flatMap(Orchestrator, (o) => o.committed)
                const [run] = yield* sql<{ state_type: string }>`SELECT state_type FROM flow_run WHERE id = ${id}`
                expect(run?.state_type).toBe("CANCELLED")
              } else {
                expect(result.state).toBeNull()
                expect(result.details.type).toBe(status === "WAIT" ? "wait_details" : "abort_details")
                if (status === "WAIT") expect((result.details as { delay_seconds: number }).delay_seconds).toBeGreaterThan(3500)
              }
            }))
        }
      }
    }
  })
})
