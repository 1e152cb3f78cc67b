import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { ObjectNotFound, InvalidRequest, newUuid, type HistoryInterval, type HistoryRequest } from "../../src/domain/index.js"
import { Repositories, RunRepository } from "../../src/storage/repositories/index.js"
import { databases } from "../support/databases.js"
import { addState, at, clearDatabase, countRows, insertFlow, insertFlowRun, insertTaskRun } from "../support/fixtures.js"

const setNow = (d: Date) => TestClock.setTime(d.getTime())

/** Intervals as plain comparable values: ISO bounds and [type, name, count, run time, lateness] per state. */
const summarize = (intervals: ReadonlyArray<HistoryInterval>) =>
  intervals.map((i) => ({
    start: i.interval_start.toISOString(),
    end: i.interval_end.toISOString(),
    states: i.states.map((s) => [s.state_type, s.state_name, s.count_runs, Math.round(s.sum_estimated_run_time * 1000) / 1000, Math.round(s.sum_estimated_lateness * 1000) / 1000])
  }))

describe.each(databases)("RunRepository on $name", (db) => {
  layer(Layer.provideMerge(Repositories, db.layer()))((it) => {
    it.effect("reads a flow run with its current state embedded and its computed run time and lateness", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* setNow(at("12:00"))
        const flow = yield* insertFlow("f")
        const running = yield* insertFlowRun({
          flow_id: flow, name: "running", total_run_time: 10, state: { type: "RUNNING", timestamp: at("11:59:55"), message: "go" },
          expected_start_time: at("11:59"), start_time: at("11:59:30"), run_count: 1, parameters: { n: 3 }, tags: ["a"]
        })
        const waiting = yield* insertFlowRun({ flow_id: flow, state: { type: "SCHEDULED", name: "Late" }, expected_start_time: at("11:59") })
        const cancelled = yield* insertFlowRun({ flow_id: flow, state: { type: "CANCELLED" }, expected_start_time: at("11:00") })
        const early = yield* insertFlowRun({ flow_id: flow, state: { type: "COMPLETED" }, total_run_time: 7, expected_start_time: at("10:05"), start_time: at("10:00") })
        const bare = yield* insertFlowRun({ flow_id: flow })
        const repo = yield* RunRepository

        const r = yield* repo.getFlowRun(running)
        expect(r).toMatchObject({
          id: running, name: "running", flow_id: flow, run_count: 1, parameters: { n: 3 }, tags: ["a"], auto_scheduled: false,
          state_type: "RUNNING", state_name: "Running", total_run_time: 10, estimated_run_time: 15, estimated_start_time_delta: 30,
          empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }
        })
        expect(r.state).toMatchObject({ type: "RUNNING", name: "Running", message: "go", timestamp: at("11:59:55") })
        expect(r.state?.id).toBe(r.state_id)
        expect(r.state?.state_details.flow_run_id).toBe(running)
        expect(r.start_time).toEqual(at("11:59:30"))

        expect(yield* repo.getFlowRun(waiting)).toMatchObject({ estimated_run_time: 0, estimated_start_time_delta: 60 })
        expect(yield* repo.getFlowRun(cancelled)).toMatchObject({ estimated_start_time_delta: 0 })
        expect(yield* repo.getFlowRun(early)).toMatchObject({ estimated_run_time: 7, estimated_start_time_delta: 0 })
        expect(yield* repo.getFlowRun(bare)).toMatchObject({ state: null, state_id: null, state_type: null, estimated_start_time_delta: 0 })

        // the estimates move with the clock
        yield* TestClock.adjust("10 seconds")
        expect(yield* repo.getFlowRun(running)).toMatchObject({ estimated_run_time: 25, estimated_start_time_delta: 30 })
        expect(yield* repo.getFlowRun(waiting)).toMatchObject({ estimated_start_time_delta: 70 })
        const listed = yield* repo.filterFlowRuns({ flow_runs: { id: { any_: [running] } }, limit: 10, offset: 0, sort: "ID_DESC" })
        expect(listed[0]).toMatchObject({ estimated_run_time: 25, state: { type: "RUNNING" } })
      }))

    it.effect("reads a task run with its state and estimates; unknown ids are ObjectNotFound", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* setNow(at("12:00"))
        const flow = yield* insertFlow("f")
        const run = yield* insertFlowRun({ flow_id: flow })
        const task = yield* insertTaskRun({
          flow_run_id: run, name: "t", task_key: "k", dynamic_key: "3", state: { type: "RUNNING", timestamp: at("11:59") },
          total_run_time: 1.5, expected_start_time: at("11:58"), start_time: at("11:58:30"),
          task_inputs: { x: [{ input_type: "task_run", id: newUuid() }], n: [{ input_type: "parameter", name: "n" }] }
        })
        const repo = yield* RunRepository
        const t = yield* repo.getTaskRun(task)
        expect(t).toMatchObject({
          id: task, flow_run_id: run, task_key: "k", dynamic_key: "3", cache_key: null, state_type: "RUNNING",
          estimated_run_time: 61.5, estimated_start_time_delta: 30, state: { type: "RUNNING", timestamp: at("11:59") }
        })
        expect(t.task_inputs.n).toEqual([{ input_type: "parameter", name: "n" }])

        const missing = newUuid()
        const e1 = yield* Effect.flip(repo.getTaskRun(missing))
        expect(e1).toBeInstanceOf(ObjectNotFound)
        expect(e1).toMatchObject({ thing: "Task run", id: missing, message: "Task run not found" })
        const e2 = yield* Effect.flip(repo.getFlowRun(missing))
        expect(e2).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run", message: "Flow run not found" })
        // a task run id is not a flow run id
        expect(yield* Effect.flip(repo.getFlowRun(task))).toMatchObject({ thing: "Flow run" })
      }))

    it.effect("updateFlowRun applies only the given fields and bumps updated", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* setNow(at("12:00"))
        const flow = yield* insertFlow("f")
        const id = yield* insertFlowRun({ flow_id: flow, name: "before", flow_version: "1", parameters: { a: 1 }, created: at("01:00") })
        const repo = yield* RunRepository
        yield* repo.updateFlowRun(id, { name: "after" })
        expect(yield* repo.getFlowRun(id)).toMatchObject({ name: "after", flow_version: "1", parameters: { a: 1 }, created: at("01:00"), updated: at("12:00") })
        yield* TestClock.adjust("1 minute")
        yield* repo.updateFlowRun(id, { parameters: { b: [1, 2] }, flow_version: null })
        expect(yield* repo.getFlowRun(id)).toMatchObject({ name: "after", flow_version: null, parameters: { b: [1, 2] }, updated: at("12:01") })
        yield* repo.updateFlowRun(id, {})
        expect(yield* repo.getFlowRun(id)).toMatchObject({ name: "after", parameters: { b: [1, 2] } })
        expect(yield* Effect.flip(repo.updateFlowRun(newUuid(), { name: "x" }))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
      }))

    it.effect("deleting a flow run removes its task runs and states and orphans its subflows", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const flow = yield* insertFlow("f")
        const parent = yield* insertFlowRun({ flow_id: flow, state: { type: "RUNNING" } })
        const placeholder = yield* insertTaskRun({ flow_run_id: parent, state: { type: "RUNNING" } })
        const child = yield* insertFlowRun({ flow_id: flow, parent_task_run_id: placeholder, state: { type: "RUNNING" } })
        const other = yield* insertFlowRun({ flow_id: flow, state: { type: "PENDING" } })
        const repo = yield* RunRepository
        yield* repo.deleteFlowRun(parent)
        expect(yield* Effect.flip(repo.getFlowRun(parent))).toBeInstanceOf(ObjectNotFound)
        expect(yield* countRows("task_run", { column: "flow_run_id", value: parent })).toBe(0)
        expect(yield* countRows("flow_run_state", { column: "flow_run_id", value: parent })).toBe(0)
        expect(yield* countRows("task_run_state", { column: "task_run_id", value: placeholder })).toBe(0)
        expect(yield* repo.getFlowRun(child)).toMatchObject({ parent_task_run_id: null, state_type: "RUNNING" })
        expect(yield* repo.getFlowRun(other)).toMatchObject({ id: other })
        expect(yield* Effect.flip(repo.deleteFlowRun(parent))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
      }))

    it.effect("deleting a task run removes its states and sets its subflow's parent_task_run_id to null", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const flow = yield* insertFlow("f")
        const parent = yield* insertFlowRun({ flow_id: flow })
        const placeholder = yield* insertTaskRun({ flow_run_id: parent, state: { type: "COMPLETED" } })
        const sibling = yield* insertTaskRun({ flow_run_id: parent })
        const child = yield* insertFlowRun({ flow_id: flow, parent_task_run_id: placeholder })
        const repo = yield* RunRepository
        yield* repo.deleteTaskRun(placeholder)
        expect(yield* Effect.flip(repo.getTaskRun(placeholder))).toMatchObject({ thing: "Task run" })
        expect(yield* countRows("task_run_state", { column: "task_run_id", value: placeholder })).toBe(0)
        expect((yield* repo.getFlowRun(child)).parent_task_run_id).toBeNull()
        expect((yield* repo.getTaskRun(sibling)).id).toBe(sibling)
        expect((yield* repo.getFlowRun(parent)).id).toBe(parent)
        expect(yield* Effect.flip(repo.deleteTaskRun(placeholder))).toMatchObject({ _tag: "ObjectNotFound", thing: "Task run" })
      }))

    it.effect("readStates lists a run's states oldest first; readState reads one by id", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const flow = yield* insertFlow("f")
        const run = yield* insertFlowRun({ flow_id: flow })
        const task = yield* insertTaskRun({ flow_run_id: run })
        const second = yield* addState("flow_run", run, { type: "PENDING", timestamp: at("10:00:01") })
        const third = yield* addState("flow_run", run, {
          type: "COMPLETED", timestamp: at("10:00:02"), message: "done", data: { encoding: "json", blob: "42" },
          details: { cache_key: "k", cache_expiration: at("13:00") }
        })
        const first = yield* addState("flow_run", run, { type: "SCHEDULED", timestamp: at("10:00:00"), details: { scheduled_time: at("10:00") } })
        const taskState = yield* addState("task_run", task, { type: "RUNNING", timestamp: at("10:00:01.5") })
        const repo = yield* RunRepository
        const states = yield* repo.readStates("flow_run", run)
        expect(states.map((s) => s.id)).toEqual([first.id, second.id, third.id])
        expect(states[2]).toEqual(third)
        expect(states[0]?.state_details.scheduled_time).toEqual(at("10:00"))
        expect(yield* repo.readStates("task_run", task)).toEqual([taskState])
        expect(yield* repo.readStates("flow_run", newUuid())).toEqual([])
        expect(yield* repo.readState("flow_run", third.id)).toEqual(third)
        expect(yield* repo.readState("task_run", taskState.id)).toEqual(taskState)
        expect(yield* Effect.flip(repo.readState("task_run", third.id))).toMatchObject({ _tag: "ObjectNotFound", thing: "Task run state" })
        expect(yield* Effect.flip(repo.readState("flow_run", newUuid()))).toMatchObject({ thing: "Flow run state", message: "Flow run state not found" })
      }))

    it.effect("history: runs bucketed by expected start, grouped by current state, with sums of positive run time and lateness", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* setNow(at("12:00"))
        const flow = yield* insertFlow("f")
        const other = yield* insertFlow("other")
        const run = (expected: string, state: { type: "COMPLETED" | "FAILED" | "RUNNING" | "SCHEDULED" | "CANCELLED"; name?: string; timestamp?: Date }, more: { total?: number; start?: string; flow?: string } = {}) =>
          insertFlowRun({
            flow_id: more.flow ?? flow, expected_start_time: at(expected), state,
            total_run_time: more.total ?? 0, start_time: more.start === undefined ? null : at(more.start)
          })
        yield* run("10:00", { type: "COMPLETED" }, { total: 30, start: "10:00:10" }) // first instant of interval 1
        yield* run("10:30", { type: "COMPLETED" }, { total: 50, start: "10:30" })
        yield* run("10:59:59.999", { type: "FAILED" }, { total: 5, start: "11:00:04.999" })
        yield* run("10:15", { type: "CANCELLED" }) // terminal and never started: no lateness
        yield* run("11:00", { type: "RUNNING", timestamp: at("11:58") }, { total: 100, start: "11:00" }) // 100 + 120 s running
        yield* run("11:10", { type: "RUNNING", timestamp: at("12:10") }, { start: "11:10" }) // negative estimate: not summed
        yield* run("11:30", { type: "SCHEDULED", name: "Late" }) // late by 30 min
        yield* run("11:45", { type: "SCHEDULED" }) // late by 15 min
        yield* run("09:59:59.999", { type: "COMPLETED" }) // before the range
        yield* run("13:00", { type: "COMPLETED" }) // after the last interval
        yield* run("10:40", { type: "COMPLETED" }, { flow: other, total: 1000 })
        yield* insertFlowRun({ flow_id: flow, expected_start_time: at("10:20") }) // no state: not counted
        const repo = yield* RunRepository
        const request: HistoryRequest = {
          history_start: at("10:00"), history_end: at("12:30"), history_interval_seconds: 3600, flows: { name: { any_: ["f"] } }
        }
        expect(summarize(yield* repo.history("flow_run", request))).toEqual([
          {
            start: "2021-11-19T10:00:00.000Z", end: "2021-11-19T11:00:00.000Z", states: [
              ["CANCELLED", "Cancelled", 1, 0, 0],
              ["COMPLETED", "Completed", 2, 80, 10],
              ["FAILED", "Failed", 1, 5, 5]
            ]
          },
          {
            start: "2021-11-19T11:00:00.000Z", end: "2021-11-19T12:00:00.000Z", states: [
              ["RUNNING", "Running", 2, 220, 0],
              ["SCHEDULED", "Late", 1, 0, 1800],
              ["SCHEDULED", "Scheduled", 1, 0, 900]
            ]
          },
          { start: "2021-11-19T12:00:00.000Z", end: "2021-11-19T13:00:00.000Z", states: [] }
        ])
        // without the flow filter the other flow's run counts too; with a run filter only matching runs count
        const all = yield* repo.history("flow_run", { ...request, flows: null })
        expect(summarize(all)[0]?.states[1]).toEqual(["COMPLETED", "Completed", 3, 1080, 10])
        const completed = yield* repo.history("flow_run", { ...request, flow_runs: { state: { type: { any_: ["COMPLETED"] } } } })
        expect(summarize(completed).map((i) => i.states)).toEqual([[["COMPLETED", "Completed", 2, 80, 10]], [], []])
      }))

    it.effect("history of task runs; the interval limits", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* setNow(at("12:00"))
        const flow = yield* insertFlow("f")
        const run = yield* insertFlowRun({ flow_id: flow, tags: ["keep"] })
        const dropped = yield* insertFlowRun({ flow_id: flow })
        yield* insertTaskRun({ flow_run_id: run, expected_start_time: at("10:00:00.5"), start_time: at("10:00:01.5"), total_run_time: 2, state: { type: "COMPLETED" } })
        yield* insertTaskRun({ flow_run_id: run, expected_start_time: at("10:00:01"), state: { type: "PENDING" } })
        yield* insertTaskRun({ flow_run_id: dropped, expected_start_time: at("10:00:00"), state: { type: "PENDING" } })
        const repo = yield* RunRepository
        const base = { history_start: at("10:00"), history_end: at("10:00:02"), history_interval_seconds: 1 }
        expect(summarize(yield* repo.history("task_run", { ...base, flow_runs: { tags: { all_: ["keep"] } } }))).toEqual([
          { start: "2021-11-19T10:00:00.000Z", end: "2021-11-19T10:00:01.000Z", states: [["COMPLETED", "Completed", 1, 2, 1]] },
          { start: "2021-11-19T10:00:01.000Z", end: "2021-11-19T10:00:02.000Z", states: [["PENDING", "Pending", 1, 0, 7199]] }
        ])
        const capped = yield* repo.history("task_run", { history_start: at("00:00"), history_end: at("23:00"), history_interval_seconds: 1 })
        expect(capped.length).toBe(500)
        expect(capped[499]?.interval_start).toEqual(new Date(at("00:00").getTime() + 499_000))
        expect(capped.every((i) => i.states.length === 0)).toBe(true)
        expect(yield* repo.history("flow_run", { ...base, history_end: at("10:00") })).toEqual([])
        const invalid = yield* Effect.flip(repo.history("flow_run", { ...base, history_interval_seconds: 0.999 }))
        expect(invalid).toBeInstanceOf(InvalidRequest)
        expect(invalid.message).toBe("History interval must not be less than 1 second.")
      }))

    it.effect("graph: each task run with its deduplicated upstream task runs and its state", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const flow = yield* insertFlow("f")
        const run = yield* insertFlowRun({ flow_id: flow })
        const empty = yield* insertFlowRun({ flow_id: flow })
        const a = yield* insertTaskRun({ flow_run_id: run, expected_start_time: at("10:00"), state: { type: "COMPLETED" } })
        const b = yield* insertTaskRun({
          flow_run_id: run, expected_start_time: at("10:01"), state: { type: "COMPLETED" },
          task_inputs: {
            x: [{ input_type: "task_run", id: a as never }],
            y: [{ input_type: "task_run", id: a as never }, { input_type: "parameter", name: "n" }],
            wait_for: [{ input_type: "task_run", id: a as never }]
          }
        })
        const c = yield* insertTaskRun({
          flow_run_id: run, expected_start_time: at("10:02"),
          task_inputs: {
            x: [{ input_type: "task_run", id: b as never }, { input_type: "constant", type: "int" }],
            y: [{ input_type: "task_run", id: a as never }],
            wait_for: [{ input_type: "task_run", id: b as never }]
          }
        })
        const repo = yield* RunRepository
        const graph = yield* repo.graph(run)
        expect(graph.map((n) => [n.id, n.upstream_dependencies, n.state?.type ?? null])).toEqual([
          [a, [], "COMPLETED"],
          [b, [{ input_type: "task_run", id: a }], "COMPLETED"],
          [c, [{ input_type: "task_run", id: b }, { input_type: "task_run", id: a }], null]
        ])
        expect(graph[0]?.state).toEqual((yield* repo.getTaskRun(a)).state)
        expect(yield* repo.graph(empty)).toEqual([])
        expect(yield* Effect.flip(repo.graph(newUuid()))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
      }))
  })
})
