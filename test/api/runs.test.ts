/** Flow runs, task runs, their states and the orchestrator's decisions over real HTTP, on SQLite and PostgreSQL. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { newUuid } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique, wireTimestamp } from "./harness.js"

const newFlow = (tags: Array<string> = []) => expectStatus(201, "POST", "/api/flows/", { name: unique("flow"), tags })
const newFlowRun = (flowId: string, body: Record<string, unknown> = {}) => expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flowId, ...body })
const setState = (kind: "flow_runs" | "task_runs", id: string, state: Record<string, unknown>, force = false) =>
  call("POST", `/api/${kind}/${id}/set_state`, { state, force })

describe.each(databases)("API runs on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("a flow run is created Pending (201), found again by idempotency key (200), and read in Orion's wire format", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const created = yield* call("POST", "/api/flow_runs/", { flow_id: flow.id, parameters: { n: 3 }, tags: ["t"], idempotency_key: "k1" })
        expect(created.status).toBe(201)
        const run = created.json
        expect(run).toMatchObject({
          flow_id: flow.id, parameters: { n: 3 }, tags: ["t"], state_type: "PENDING", state_name: "Pending", run_count: 0,
          deployment_id: null, parent_task_run_id: null, auto_scheduled: false, total_run_time: 0,
          state: { type: "PENDING", name: "Pending", message: null, data: null }
        })
        expect(run.state.timestamp).toMatch(wireTimestamp)
        expect(run.expected_start_time).toMatch(wireTimestamp)
        expect(run.state.state_details.flow_run_id).toBe(run.id)
        expect(typeof run.estimated_run_time).toBe("number")
        const again = yield* call("POST", "/api/flow_runs/", { flow_id: flow.id, idempotency_key: "k1", parameters: { n: 4 } })
        expect(again.status).toBe(200)
        expect(again.json).toMatchObject({ id: run.id, parameters: { n: 3 } })
        expect(yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}`)).toMatchObject({ id: run.id, state: { id: run.state.id } })
      }))

    it.effect("set_state answers the orchestrator's result: 201 when a state is stored, 200 on WAIT and ABORT; decisions are readable", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const run = yield* newFlowRun(flow.id)
        const running = yield* setState("flow_runs", run.id, { type: "RUNNING" })
        expect(running.status).toBe(201)
        expect(running.json).toMatchObject({ status: "ACCEPT", details: { type: "accept_details" }, state: { type: "RUNNING", name: "Running" } })
        expect(running.json.state.timestamp).toMatch(wireTimestamp)
        const done = yield* setState("flow_runs", run.id, { type: "COMPLETED", message: "done" })
        expect(done.json).toMatchObject({ status: "ACCEPT", state: { type: "COMPLETED", message: "done" } })
        const abort = yield* setState("flow_runs", run.id, { type: "RUNNING" })
        expect(abort.status).toBe(200)
        expect(abort.json).toMatchObject({ status: "ABORT", state: null, details: { type: "abort_details", reason: "This run has already terminated." } })

        const decisions = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/decisions`)
        expect(decisions.map((d: { status: string; proposed_type: string }) => [d.proposed_type, d.status])).toEqual([
          ["PENDING", "ACCEPT"], ["RUNNING", "ACCEPT"], ["COMPLETED", "ACCEPT"], ["RUNNING", "ABORT"]
        ])
        expect(decisions[0]).toMatchObject({ run_kind: "flow_run", run_id: run.id, forced: true, from_type: null })
        expect(decisions[3]).toMatchObject({ from_type: "COMPLETED", rule: "PreventTransitionsFromTerminalStates", state_id: null })
        expect(decisions[3].timestamp).toMatch(wireTimestamp)
        expect(decisions[1].rules).toContain("PreventRedundantTransitions")

        // a forced proposal skips the rules
        const forced = yield* setState("flow_runs", run.id, { type: "RUNNING" }, true)
        expect(forced.json).toMatchObject({ status: "ACCEPT", state: { type: "RUNNING" } })

        // a run scheduled in the future is told to wait
        const later = new Date(Date.now() + 3_600_000).toISOString()
        const scheduled = yield* newFlowRun(flow.id, { state: { type: "SCHEDULED", state_details: { scheduled_time: later } } })
        const wait = yield* setState("flow_runs", scheduled.id, { type: "PENDING" })
        expect(wait.status).toBe(200)
        expect(wait.json).toMatchObject({ status: "WAIT", state: null, details: { type: "wait_details" } })
        expect(wait.json.details.delay_seconds).toBeGreaterThan(3500)

        const states = yield* expectStatus(200, "GET", `/api/flow_run_states/?flow_run_id=${run.id}`)
        expect(states.map((s: { name: string }) => s.name)).toEqual(["Pending", "Running", "Completed", "Running"])
        expect(yield* expectStatus(200, "GET", `/api/flow_run_states/${states[1].id}`)).toEqual(states[1])
      }))

    it.effect("task runs: idempotent create, retries answered with REJECT, states, decisions and an id clash (409)", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const run = yield* newFlowRun(flow.id)
        const body = { flow_run_id: run.id, task_key: "extract", dynamic_key: "0", empirical_policy: { max_retries: 1, retry_delay_seconds: 0 } }
        const task = yield* call("POST", "/api/task_runs/", body)
        expect(task.status).toBe(201)
        expect(task.json).toMatchObject({ flow_run_id: run.id, task_key: "extract", state: { type: "PENDING" } })
        expect((yield* call("POST", "/api/task_runs", body)).status).toBe(200)

        expect((yield* setState("task_runs", task.json.id, { type: "RUNNING" })).json.status).toBe("ACCEPT")
        const failed = yield* setState("task_runs", task.json.id, { type: "FAILED" })
        expect(failed.status).toBe(201)
        expect(failed.json).toMatchObject({ status: "REJECT", state: { type: "SCHEDULED", name: "AwaitingRetry" }, details: { type: "reject_details" } })
        const decisions = yield* expectStatus(200, "GET", `/api/task_runs/${task.json.id}/decisions`)
        expect(decisions.at(-1)).toMatchObject({ status: "REJECT", rule: "RetryFailedTasks", proposed_type: "FAILED", state_name: "AwaitingRetry" })
        const states = yield* expectStatus(200, "GET", `/api/task_run_states/?task_run_id=${task.json.id}`)
        expect(states.map((s: { name: string }) => s.name)).toEqual(["Pending", "Running", "AwaitingRetry"])
        expect((yield* expectStatus(200, "GET", `/api/task_run_states/${states[0].id}`)).type).toBe("PENDING")

        const clash = yield* call("POST", "/api/task_runs/", { ...body, id: task.json.id, task_key: "load" })
        expect(clash.status).toBe(409)
        expect(clash.json).toMatchObject({ _tag: "Conflict" })
        expect(clash.json.detail).toContain(task.json.id)
      }))

    it.effect("a retry delay too long for a date (given, or grown by backoff) waits 100 years instead of failing the proposal", () =>
      Effect.gen(function*() {
        const run = yield* newFlowRun((yield* newFlow()).id)
        for (const [i, retry_delay_seconds] of [1e300, { exponential_backoff: 1e300 }, [1e15]].entries()) {
          const task = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: run.id, task_key: "slow", dynamic_key: String(i), empirical_policy: { max_retries: 1, retry_delay_seconds } })
          yield* setState("task_runs", task.id, { type: "RUNNING" })
          const failed = yield* setState("task_runs", task.id, { type: "FAILED" })
          expect(failed.json).toMatchObject({ status: "REJECT", state: { type: "SCHEDULED", name: "AwaitingRetry" } })
          const waits = (Date.parse(failed.json.state.state_details.scheduled_time) - Date.parse(failed.json.state.timestamp)) / 1000
          expect(waits).toBeCloseTo(100 * 365.25 * 86_400, 0)
        }
      }))

    it.effect("not found, conflicts and invalid proposals", () =>
      Effect.gen(function*() {
        const missing = newUuid()
        expect((yield* call("GET", `/api/flow_runs/${missing}`)).json).toEqual({ _tag: "ObjectNotFound", thing: "Flow run", id: missing, detail: "Flow run not found" })
        expect((yield* call("GET", `/api/task_runs/${missing}`)).status).toBe(404)
        expect((yield* setState("flow_runs", missing, { type: "RUNNING" })).status).toBe(404)
        expect((yield* setState("task_runs", missing, { type: "RUNNING" })).status).toBe(404)
        expect((yield* call("GET", `/api/flow_runs/${missing}/decisions`)).json).toMatchObject({ thing: "Flow run" })
        expect((yield* call("GET", `/api/task_runs/${missing}/decisions`)).json).toMatchObject({ thing: "Task run" })
        expect((yield* call("GET", `/api/flow_runs/${missing}/graph`)).status).toBe(404)
        expect((yield* call("GET", `/api/flow_run_states/${missing}`)).json).toMatchObject({ thing: "Flow run state" })
        expect((yield* call("GET", `/api/task_run_states/${missing}`)).json).toMatchObject({ thing: "Task run state" })
        expect((yield* call("GET", "/api/flow_run_states/")).status).toBe(422)
        expect((yield* call("POST", "/api/flow_runs/", { flow_id: missing })).json).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow", id: missing })
        expect((yield* call("POST", "/api/task_runs/", { flow_run_id: missing, task_key: "k", dynamic_key: "0" })).json).toMatchObject({ thing: "Flow run" })
        // a subflow's parent task run must exist (a foreign key on PostgreSQL, a trigger on SQLite)
        expect((yield* call("POST", "/api/flow_runs/", { flow_id: (yield* newFlow()).id, parent_task_run_id: missing })).json)
          .toMatchObject({ _tag: "ObjectNotFound", thing: "Task run", id: missing })

        const flow = yield* newFlow()
        const other = yield* newFlow()
        const deployment = yield* expectStatus(201, "POST", "/api/deployments/", { name: "d", flow_id: other.id, flow_data: { encoding: "file", blob: "/x.ts" } })
        const wrong = yield* call("POST", "/api/flow_runs/", { flow_id: flow.id, deployment_id: deployment.id })
        expect(wrong.status).toBe(409)
        expect(wrong.json.detail).toContain(deployment.id)

        const run = yield* newFlowRun(flow.id)
        const badState = yield* setState("flow_runs", run.id, { type: "DONE" })
        expect(badState.status).toBe(422)
        expect(badState.json.detail[0].loc).toEqual(["state", "type"])
        const extra = yield* call("POST", `/api/flow_runs/${run.id}/set_state`, { state: { type: "RUNNING", colour: 1 }, force: false })
        expect(extra.json.detail).toEqual([expect.objectContaining({ loc: ["state", "colour"], type: "unknown_field" })])
        // nothing was stored by the refused requests
        expect((yield* expectStatus(200, "GET", `/api/flow_run_states/?flow_run_id=${run.id}`)).length).toBe(1)
      }))

    it.effect("PATCH and DELETE: 204, then 404; deleting a flow run deletes its task runs", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const run = yield* newFlowRun(flow.id)
        expect((yield* call("PATCH", `/api/flow_runs/${run.id}`, { name: "renamed", parameters: { a: 1 } })).status).toBe(204)
        expect(yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}`)).toMatchObject({ name: "renamed", parameters: { a: 1 } })
        expect((yield* call("PATCH", `/api/flow_runs/${run.id}`, { state_type: "COMPLETED" })).status).toBe(422)
        const task = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: run.id, task_key: "t", dynamic_key: "0" })
        const other = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: run.id, task_key: "t", dynamic_key: "1" })
        expect((yield* call("DELETE", `/api/task_runs/${other.id}`)).status).toBe(204)
        expect((yield* call("DELETE", `/api/task_runs/${other.id}`)).status).toBe(404)
        expect((yield* call("DELETE", `/api/flow_runs/${run.id}`)).status).toBe(204)
        expect((yield* call("GET", `/api/flow_runs/${run.id}`)).status).toBe(404)
        expect((yield* call("GET", `/api/task_runs/${task.id}`)).status).toBe(404)
        expect((yield* call("PATCH", `/api/flow_runs/${run.id}`, { name: "x" })).status).toBe(404)
        expect((yield* call("DELETE", `/api/flow_runs/${run.id}`)).status).toBe(404)
        expect((yield* setState("task_runs", task.id, { type: "RUNNING" })).status).toBe(404)
      }))

    it.effect("filters combine related objects with EXISTS semantics; counts agree; sorts apply", () =>
      Effect.gen(function*() {
        const tag = unique("exists")
        const failing = yield* newFlow([tag])
        const passing = yield* newFlow([tag])
        const bad = yield* newFlowRun(failing.id, { tags: [tag] })
        const good = yield* newFlowRun(passing.id, { tags: [tag] })
        yield* setState("flow_runs", bad.id, { type: "RUNNING" })
        yield* setState("flow_runs", bad.id, { type: "FAILED" })
        const badTask = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: bad.id, task_key: "boom", dynamic_key: "0", tags: [tag] })
        yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: good.id, task_key: "fine", dynamic_key: "0", tags: [tag] })

        // flows that have a FAILED run
        const flowsWithFailure = { flows: { tags: { all_: [tag] } }, flow_runs: { state: { type: { any_: ["FAILED"] } } } }
        expect((yield* expectStatus(200, "POST", "/api/flows/filter", flowsWithFailure)).map((f: { id: string }) => f.id)).toEqual([failing.id])
        expect(yield* expectStatus(200, "POST", "/api/flows/count", flowsWithFailure)).toBe(1)
        // flows that have a run with a task run named "fine"-keyed: via task_runs name filter
        const byTask = { flows: { tags: { all_: [tag] } }, task_runs: { id: { any_: [badTask.id] } } }
        expect((yield* expectStatus(200, "POST", "/api/flows/filter", byTask)).map((f: { id: string }) => f.id)).toEqual([failing.id])
        // flow runs of a flow, and runs having a given task run
        expect((yield* expectStatus(200, "POST", "/api/flow_runs/filter", { flows: { id: { any_: [passing.id] } } })).map((r: { id: string }) => r.id)).toEqual([good.id])
        expect((yield* expectStatus(200, "POST", "/api/flow_runs/filter", { task_runs: { id: { any_: [badTask.id] } } })).map((r: { id: string }) => r.id)).toEqual([bad.id])
        // task runs whose flow run failed
        const tasksOfFailed = { task_runs: { tags: { all_: [tag] } }, flow_runs: { state: { type: { any_: ["FAILED"] } } } }
        expect((yield* expectStatus(200, "POST", "/api/task_runs/filter", tasksOfFailed)).map((t: { id: string }) => t.id)).toEqual([badTask.id])
        expect(yield* expectStatus(200, "POST", "/api/task_runs/count", tasksOfFailed)).toBe(1)
        expect(yield* expectStatus(200, "POST", "/api/flow_runs/count", { flow_runs: { tags: { all_: [tag] } } })).toBe(2)

        const sorted = yield* expectStatus(200, "POST", "/api/flow_runs/filter", { flow_runs: { tags: { all_: [tag] } }, sort: "EXPECTED_START_TIME_ASC" })
        expect(sorted.map((r: { id: string }) => r.id)).toEqual([bad.id, good.id])
        expect((yield* call("POST", "/api/flow_runs/filter", { sort: "NAME_ASC" })).status).toBe(422)
        expect((yield* call("POST", "/api/task_runs/filter", { limit: 1000 })).status).toBe(422)
      }))

    it.effect("history counts runs per interval and state; an interval under 1 s is refused (422)", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const at = (m: number) => `2021-11-19T10:${String(m).padStart(2, "0")}:00+00:00`
        const tag = unique("history")
        for (const m of [1, 2, 12]) {
          yield* newFlowRun(flow.id, { tags: [tag], state: { type: "SCHEDULED", state_details: { scheduled_time: at(m) } } })
        }
        const history = yield* expectStatus(200, "POST", "/api/flow_runs/history", {
          history_start: at(0), history_end: at(30), history_interval_seconds: 600, flow_runs: { tags: { all_: [tag] } }
        })
        expect(history.map((i: { interval_start: string }) => i.interval_start)).toEqual([
          "2021-11-19T10:00:00.000000+00:00", "2021-11-19T10:10:00.000000+00:00", "2021-11-19T10:20:00.000000+00:00"
        ])
        expect(history.map((i: { states: Array<{ count_runs: number }> }) => i.states.map((s) => s.count_runs))).toEqual([[2], [1], []])
        expect(history[0].states[0]).toMatchObject({ state_type: "SCHEDULED", state_name: "Scheduled" })
        const tooShort = yield* call("POST", "/api/task_runs/history", { history_start: at(0), history_end: at(1), history_interval_seconds: 0.5 })
        expect(tooShort.status).toBe(422)
        expect(tooShort.json).toEqual({ _tag: "InvalidRequest", detail: "History interval must not be less than 1 second." })
        const naive = yield* call("POST", "/api/flow_runs/history", { history_start: "2021-11-19T10:00:00", history_end: at(1), history_interval_seconds: 60 })
        expect(naive.status).toBe(422)
        expect(naive.json.detail[0].loc).toEqual(["history_start"])
        // an interval too long for a date ends at the latest timestamp instead
        const endless = yield* expectStatus(200, "POST", "/api/flow_runs/history", {
          history_start: at(0), history_end: at(30), history_interval_seconds: Number.MAX_VALUE, flow_runs: { tags: { all_: [tag] } }
        })
        expect(endless.map((i: { interval_end: string; states: Array<{ count_runs: number }> }) => [i.interval_end, i.states.map((s) => s.count_runs)]))
          .toEqual([["9999-12-31T23:59:59.999000+00:00", [3]]])
      }))

    it.effect("graph: every task run of the flow run with its upstream task runs", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const run = yield* newFlowRun(flow.id)
        const a = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: run.id, task_key: "a", dynamic_key: "0" })
        const b = yield* expectStatus(201, "POST", "/api/task_runs/", {
          flow_run_id: run.id, task_key: "b", dynamic_key: "0",
          task_inputs: { x: [{ input_type: "task_run", id: a.id }], y: [{ input_type: "task_run", id: a.id }, { input_type: "parameter", name: "n" }] }
        })
        const graph = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/graph`)
        expect(graph).toHaveLength(2)
        expect(graph.find((n: { id: string }) => n.id === b.id)).toMatchObject({ upstream_dependencies: [{ input_type: "task_run", id: a.id }], state: { type: "PENDING" } })
        expect(graph.find((n: { id: string }) => n.id === a.id).upstream_dependencies).toEqual([])
      }))
  })
})
