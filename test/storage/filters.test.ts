import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { CountRequest, FlowRunSort, Uuid } from "../../src/domain/index.js"
import { DeploymentRepository, FlowRepository, Repositories, RunRepository } from "../../src/storage/repositories/index.js"
import { databases } from "../support/databases.js"
import { at, clearDatabase, insertDeployment, insertFlow, insertFlowRun, insertTaskRun } from "../support/fixtures.js"

const page = { limit: 200, offset: 0 } as const

/**
 * Flows alpha (etl, prod), beta (etl), gamma (no tags, no runs); deployments alpha/daily (prod, active) and
 * beta/hourly (inactive). Runs r1..r4, task runs t1..t4 (t1 is the placeholder of subflow r4).
 */
const seed = Effect.gen(function*() {
  yield* clearDatabase
  const alpha = yield* insertFlow("alpha", ["etl", "prod"])
  const beta = yield* insertFlow("beta", ["etl"])
  const gamma = yield* insertFlow("gamma", [])
  const daily = yield* insertDeployment(alpha, "daily", { tags: ["prod"], is_schedule_active: true })
  const hourly = yield* insertDeployment(beta, "hourly", { tags: [], is_schedule_active: false })
  const r1 = yield* insertFlowRun({
    name: "r1", flow_id: alpha, deployment_id: daily, tags: ["prod", "x"], flow_version: "1.0",
    state: { type: "COMPLETED" }, start_time: at("10:00"), end_time: at("10:05"), expected_start_time: at("09:59")
  })
  const r2 = yield* insertFlowRun({
    name: "r2", flow_id: alpha, tags: [], flow_version: "2.0", state: { type: "RUNNING" },
    start_time: at("11:00"), expected_start_time: at("11:00")
  })
  const r3 = yield* insertFlowRun({
    name: "r3", flow_id: beta, deployment_id: hourly, tags: ["x"], state: { type: "SCHEDULED", name: "Late" },
    expected_start_time: at("12:00"), next_scheduled_start_time: at("12:00")
  })
  const t1 = yield* insertTaskRun({
    name: "t1", flow_run_id: r1, tags: ["y"], state: { type: "COMPLETED" },
    start_time: at("10:01"), expected_start_time: at("10:01"), end_time: at("10:03")
  })
  const t2 = yield* insertTaskRun({
    name: "t2", flow_run_id: r1, tags: [], state: { type: "FAILED" },
    start_time: at("10:02"), expected_start_time: at("10:02"), end_time: at("10:02:30")
  })
  const t3 = yield* insertTaskRun({
    name: "t3", flow_run_id: r2, tags: ["y"], state: { type: "RUNNING" }, start_time: at("11:01"), expected_start_time: at("11:01")
  })
  const t4 = yield* insertTaskRun({ name: "t4", flow_run_id: r3, tags: ["y"] })
  const r4 = yield* insertFlowRun({
    name: "r4", flow_id: beta, tags: [], state: { type: "FAILED" }, parent_task_run_id: t1,
    start_time: at("09:00"), end_time: at("09:30")
  })
  return { alpha, beta, gamma, daily, hourly, r1, r2, r3, r4, t1, t2, t3, t4 }
})

const sorted = (names: ReadonlyArray<{ readonly name: string }>) => names.map((x) => x.name).sort()

describe.each(databases)("filters on $name", (db) => {
  layer(Layer.provideMerge(Repositories, db.layer()))((it) => {
    const flowNames = (filters: CountRequest) =>
      Effect.gen(function*() {
        const repo = yield* FlowRepository
        const found = yield* repo.filter({ ...filters, ...page })
        expect(yield* repo.count(filters)).toBe(found.length)
        return found.map((f) => f.name)
      })
    const runNames = (filters: CountRequest) =>
      Effect.gen(function*() {
        const repo = yield* RunRepository
        const found = yield* repo.filterFlowRuns({ ...filters, ...page, sort: "ID_DESC" })
        expect(yield* repo.countFlowRuns(filters)).toBe(found.length)
        return sorted(found)
      })
    const taskNames = (filters: CountRequest) =>
      Effect.gen(function*() {
        const repo = yield* RunRepository
        const found = yield* repo.filterTaskRuns({ ...filters, ...page, sort: "ID_DESC" })
        expect(yield* repo.countTaskRuns(filters)).toBe(found.length)
        return sorted(found)
      })
    const deploymentNames = (filters: CountRequest) =>
      Effect.gen(function*() {
        const repo = yield* DeploymentRepository
        const found = yield* repo.filter({ ...filters, ...page })
        expect(yield* repo.count(filters)).toBe(found.length)
        return found.map((d) => d.name)
      })

    it.effect("empty and absent filters match everything; null operators are ignored", () =>
      Effect.gen(function*() {
        yield* seed
        expect(yield* flowNames({})).toEqual(["alpha", "beta", "gamma"])
        expect(yield* flowNames({ flows: {} })).toEqual(["alpha", "beta", "gamma"])
        expect(yield* flowNames({ flows: { id: null, name: { any_: null }, tags: { all_: null, is_null_: null } } })).toEqual(["alpha", "beta", "gamma"])
        expect(yield* runNames({ flow_runs: { state: { type: null, name: { any_: null } }, start_time: {} } })).toEqual(["r1", "r2", "r3", "r4"])
        expect(yield* taskNames({ task_runs: {} })).toEqual(["t1", "t2", "t3", "t4"])
        expect(yield* deploymentNames({ deployments: {} })).toEqual(["daily", "hourly"])
      }))

    it.effect("FlowFilter: id, name and tags operators", () =>
      Effect.gen(function*() {
        const s = yield* seed
        expect(yield* flowNames({ flows: { id: { any_: [s.alpha as Uuid] } } })).toEqual(["alpha"])
        expect(yield* flowNames({ flows: { id: { any_: [] } } })).toEqual([])
        expect(yield* flowNames({ flows: { name: { any_: ["gamma", "beta", "nope"] } } })).toEqual(["beta", "gamma"])
        expect(yield* flowNames({ flows: { tags: { all_: ["etl"] } } })).toEqual(["alpha", "beta"])
        expect(yield* flowNames({ flows: { tags: { all_: ["prod", "etl"] } } })).toEqual(["alpha"])
        expect(yield* flowNames({ flows: { tags: { all_: ["prod", "missing"] } } })).toEqual([])
        expect(yield* flowNames({ flows: { tags: { all_: [] } } })).toEqual(["alpha", "beta", "gamma"])
        expect(yield* flowNames({ flows: { tags: { is_null_: true } } })).toEqual(["gamma"])
        expect(yield* flowNames({ flows: { tags: { is_null_: false } } })).toEqual(["alpha", "beta"])
        expect(yield* flowNames({ flows: { name: { any_: ["alpha", "gamma"] }, tags: { is_null_: false } } })).toEqual(["alpha"])
      }))

    it.effect("FlowRunFilter: every operator", () =>
      Effect.gen(function*() {
        const s = yield* seed
        const ids = (...xs: Array<string>) => xs as Array<Uuid>
        expect(yield* runNames({ flow_runs: { id: { any_: ids(s.r1, s.r2) } } })).toEqual(["r1", "r2"])
        expect(yield* runNames({ flow_runs: { id: { any_: [] } } })).toEqual([])
        expect(yield* runNames({ flow_runs: { id: { not_any_: ids(s.r1) } } })).toEqual(["r2", "r3", "r4"])
        expect(yield* runNames({ flow_runs: { id: { not_any_: [] } } })).toEqual(["r1", "r2", "r3", "r4"])
        expect(yield* runNames({ flow_runs: { id: { any_: ids(s.r1, s.r2), not_any_: ids(s.r2) } } })).toEqual(["r1"])
        expect(yield* runNames({ flow_runs: { name: { any_: ["r3"] } } })).toEqual(["r3"])
        expect(yield* runNames({ flow_runs: { tags: { all_: ["x"] } } })).toEqual(["r1", "r3"])
        expect(yield* runNames({ flow_runs: { tags: { all_: ["x", "prod"] } } })).toEqual(["r1"])
        expect(yield* runNames({ flow_runs: { tags: { is_null_: true } } })).toEqual(["r2", "r4"])
        expect(yield* runNames({ flow_runs: { tags: { is_null_: false } } })).toEqual(["r1", "r3"])
        expect(yield* runNames({ flow_runs: { deployment_id: { any_: ids(s.daily) } } })).toEqual(["r1"])
        expect(yield* runNames({ flow_runs: { deployment_id: { is_null_: true } } })).toEqual(["r2", "r4"])
        expect(yield* runNames({ flow_runs: { deployment_id: { is_null_: false } } })).toEqual(["r1", "r3"])
        expect(yield* runNames({ flow_runs: { state: { type: { any_: ["COMPLETED", "FAILED"] } } } })).toEqual(["r1", "r4"])
        expect(yield* runNames({ flow_runs: { state: { name: { any_: ["Late"] } } } })).toEqual(["r3"])
        expect(yield* runNames({ flow_runs: { state: { type: { any_: ["SCHEDULED"] }, name: { any_: ["Scheduled"] } } } })).toEqual([])
        expect(yield* runNames({ flow_runs: { flow_version: { any_: ["2.0"] } } })).toEqual(["r2"])
        expect(yield* runNames({ flow_runs: { start_time: { before_: at("10:00") } } })).toEqual(["r1", "r4"])
        expect(yield* runNames({ flow_runs: { start_time: { after_: at("10:00") } } })).toEqual(["r1", "r2"])
        expect(yield* runNames({ flow_runs: { start_time: { after_: at("10:00"), before_: at("10:00") } } })).toEqual(["r1"])
        expect(yield* runNames({ flow_runs: { start_time: { after_: at("10:00:00.001") } } })).toEqual(["r2"])
        expect(yield* runNames({ flow_runs: { start_time: { is_null_: true } } })).toEqual(["r3"])
        expect(yield* runNames({ flow_runs: { start_time: { is_null_: false } } })).toEqual(["r1", "r2", "r4"])
        expect(yield* runNames({ flow_runs: { expected_start_time: { before_: at("11:00") } } })).toEqual(["r1", "r2"])
        expect(yield* runNames({ flow_runs: { expected_start_time: { after_: at("11:30") } } })).toEqual(["r3"])
        expect(yield* runNames({ flow_runs: { next_scheduled_start_time: { after_: at("11:00") } } })).toEqual(["r3"])
        expect(yield* runNames({ flow_runs: { next_scheduled_start_time: { before_: at("11:00") } } })).toEqual([])
        expect(yield* runNames({ flow_runs: { parent_task_run_id: { any_: ids(s.t1) } } })).toEqual(["r4"])
        expect(yield* runNames({ flow_runs: { parent_task_run_id: { is_null_: false } } })).toEqual(["r4"])
        expect(yield* runNames({ flow_runs: { parent_task_run_id: { is_null_: true } } })).toEqual(["r1", "r2", "r3"])
      }))

    it.effect("TaskRunFilter: every operator, including subflow placeholders", () =>
      Effect.gen(function*() {
        const s = yield* seed
        expect(yield* taskNames({ task_runs: { id: { any_: [s.t1 as Uuid] } } })).toEqual(["t1"])
        expect(yield* taskNames({ task_runs: { name: { any_: ["t2", "t3"] } } })).toEqual(["t2", "t3"])
        expect(yield* taskNames({ task_runs: { tags: { all_: ["y"] } } })).toEqual(["t1", "t3", "t4"])
        expect(yield* taskNames({ task_runs: { tags: { is_null_: true } } })).toEqual(["t2"])
        expect(yield* taskNames({ task_runs: { state: { type: { any_: ["RUNNING"] } } } })).toEqual(["t3"])
        expect(yield* taskNames({ task_runs: { state: { name: { any_: ["Failed"] } } } })).toEqual(["t2"])
        expect(yield* taskNames({ task_runs: { start_time: { after_: at("10:01:30") } } })).toEqual(["t2", "t3"])
        expect(yield* taskNames({ task_runs: { start_time: { before_: at("10:01") } } })).toEqual(["t1"])
        expect(yield* taskNames({ task_runs: { start_time: { is_null_: true } } })).toEqual(["t4"])
        expect(yield* taskNames({ task_runs: { subflow_runs: { exists_: true } } })).toEqual(["t1"])
        expect(yield* taskNames({ task_runs: { subflow_runs: { exists_: false } } })).toEqual(["t2", "t3", "t4"])
      }))

    it.effect("DeploymentFilter: id, name, is_schedule_active and tags", () =>
      Effect.gen(function*() {
        const s = yield* seed
        expect(yield* deploymentNames({ deployments: { id: { any_: [s.hourly as Uuid] } } })).toEqual(["hourly"])
        expect(yield* deploymentNames({ deployments: { name: { any_: ["daily"] } } })).toEqual(["daily"])
        expect(yield* deploymentNames({ deployments: { is_schedule_active: { eq_: true } } })).toEqual(["daily"])
        expect(yield* deploymentNames({ deployments: { is_schedule_active: { eq_: false } } })).toEqual(["hourly"])
        expect(yield* deploymentNames({ deployments: { is_schedule_active: { eq_: null } } })).toEqual(["daily", "hourly"])
        expect(yield* deploymentNames({ deployments: { tags: { all_: ["prod"] } } })).toEqual(["daily"])
        expect(yield* deploymentNames({ deployments: { tags: { is_null_: true } } })).toEqual(["hourly"])
      }))

    it.effect("flows by related deployments, runs and task runs (EXISTS, same run for run + task criteria)", () =>
      Effect.gen(function*() {
        yield* seed
        expect(yield* flowNames({ deployments: { is_schedule_active: { eq_: false } } })).toEqual(["beta"])
        expect(yield* flowNames({ deployments: {} })).toEqual(["alpha", "beta"])
        expect(yield* flowNames({ flow_runs: { state: { type: { any_: ["RUNNING"] } } } })).toEqual(["alpha"])
        expect(yield* flowNames({ flow_runs: {} })).toEqual(["alpha", "beta"])
        expect(yield* flowNames({ task_runs: { subflow_runs: { exists_: true } } })).toEqual(["alpha"])
        expect(yield* flowNames({ task_runs: { tags: { all_: ["y"] } } })).toEqual(["alpha", "beta"])
        // beta has a FAILED run (r4) and a y-tagged task run, but in another run (r3): no match.
        expect(yield* flowNames({ flow_runs: { state: { type: { any_: ["FAILED"] } } }, task_runs: { tags: { all_: ["y"] } } })).toEqual([])
        expect(yield* flowNames({ flow_runs: { state: { type: { any_: ["COMPLETED"] } } }, task_runs: { tags: { all_: ["y"] } } })).toEqual(["alpha"])
        expect(yield* flowNames({ flows: { tags: { all_: ["etl"] } }, flow_runs: { deployment_id: { is_null_: false } } })).toEqual(["alpha", "beta"])
        expect(yield* flowNames({ flows: { tags: { all_: ["prod"] } }, deployments: { is_schedule_active: { eq_: false } } })).toEqual([])
      }))

    it.effect("flow runs by their flow, deployment and task runs", () =>
      Effect.gen(function*() {
        yield* seed
        expect(yield* runNames({ flows: { name: { any_: ["beta"] } } })).toEqual(["r3", "r4"])
        expect(yield* runNames({ deployments: { tags: { all_: ["prod"] } } })).toEqual(["r1"])
        expect(yield* runNames({ deployments: {} })).toEqual(["r1", "r3"])
        expect(yield* runNames({ task_runs: { tags: { all_: ["y"] } } })).toEqual(["r1", "r2", "r3"])
        expect(yield* runNames({ task_runs: { state: { type: { any_: ["FAILED"] } } }, flows: { name: { any_: ["alpha"] } } })).toEqual(["r1"])
        expect(yield* runNames({ task_runs: { state: { type: { any_: ["FAILED"] } } }, flows: { name: { any_: ["beta"] } } })).toEqual([])
        expect(yield* runNames({ flow_runs: { tags: { all_: ["x"] } }, flows: { tags: { all_: ["prod"] } } })).toEqual(["r1"])
      }))

    it.effect("task runs by their flow run, that run's flow and deployment", () =>
      Effect.gen(function*() {
        yield* seed
        expect(yield* taskNames({ flow_runs: { state: { type: { any_: ["COMPLETED"] } } } })).toEqual(["t1", "t2"])
        expect(yield* taskNames({ flows: { name: { any_: ["beta"] } } })).toEqual(["t4"])
        expect(yield* taskNames({ deployments: { is_schedule_active: { eq_: true } } })).toEqual(["t1", "t2"])
        expect(yield* taskNames({ deployments: {} })).toEqual(["t1", "t2", "t4"])
        expect(yield* taskNames({ flows: { name: { any_: ["alpha"] } }, flow_runs: { tags: { all_: ["x"] } } })).toEqual(["t1", "t2"])
        expect(yield* taskNames({ flows: { name: { any_: ["alpha"] } }, task_runs: { tags: { all_: ["y"] } } })).toEqual(["t1", "t3"])
        expect(yield* taskNames({ flows: { name: { any_: ["beta"] } }, deployments: { is_schedule_active: { eq_: true } } })).toEqual([])
      }))

    it.effect("deployments by their flow, runs and task runs", () =>
      Effect.gen(function*() {
        yield* seed
        expect(yield* deploymentNames({ flows: { tags: { all_: ["prod"] } } })).toEqual(["daily"])
        expect(yield* deploymentNames({ flow_runs: { state: { type: { any_: ["SCHEDULED"] } } } })).toEqual(["hourly"])
        expect(yield* deploymentNames({ task_runs: { tags: { all_: ["y"] } } })).toEqual(["daily", "hourly"])
        expect(yield* deploymentNames({ flow_runs: { state: { type: { any_: ["COMPLETED"] } } }, task_runs: { state: { type: { any_: ["FAILED"] } } } })).toEqual(["daily"])
        expect(yield* deploymentNames({ flow_runs: { state: { type: { any_: ["SCHEDULED"] } } }, task_runs: { state: { type: { any_: ["FAILED"] } } } })).toEqual([])
        expect(yield* deploymentNames({ task_runs: { subflow_runs: { exists_: false } } })).toEqual(["daily", "hourly"])
      }))

    it.effect("flow-run sorts put NULLs last; pagination pages through the sorted list", () =>
      Effect.gen(function*() {
        const s = yield* seed
        const repo = yield* RunRepository
        const names = (sort: FlowRunSort, limit = 200, offset = 0) =>
          Effect.map(repo.filterFlowRuns({ sort, limit, offset }), (rs) => rs.map((r) => r.name))
        const byId = [
          ["r1", s.r1], ["r2", s.r2], ["r3", s.r3], ["r4", s.r4]
        ].sort((a, b) => (a[1]! < b[1]! ? 1 : -1)).map((x) => x[0])
        expect(yield* names("ID_DESC")).toEqual(byId)
        expect(yield* names("EXPECTED_START_TIME_ASC")).toEqual(["r1", "r2", "r3", "r4"])
        expect(yield* names("EXPECTED_START_TIME_DESC")).toEqual(["r3", "r2", "r1", "r4"])
        expect(yield* names("NEXT_SCHEDULED_START_TIME_ASC")).toEqual(["r3", ...[["r1", s.r1], ["r2", s.r2], ["r4", s.r4]].sort((a, b) => (a[1]! < b[1]! ? -1 : 1)).map((x) => x[0])])
        expect((yield* names("END_TIME_DESC")).slice(0, 2)).toEqual(["r1", "r4"])
        expect(yield* names("EXPECTED_START_TIME_ASC", 2, 1)).toEqual(["r2", "r3"])
        expect(yield* names("EXPECTED_START_TIME_ASC", 2, 3)).toEqual(["r4"])
        expect(yield* names("EXPECTED_START_TIME_ASC", 0, 0)).toEqual([])
        expect(yield* names("EXPECTED_START_TIME_ASC", 5, 10)).toEqual([])
      }))

    it.effect("sorts break ties by id, in the direction of the sort", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const flow = yield* insertFlow("ties")
        const ids: Array<string> = []
        for (let i = 0; i < 5; i++) ids.push(yield* insertFlowRun({ flow_id: flow, expected_start_time: at("10:00"), end_time: at("11:00") }))
        const repo = yield* RunRepository
        const asc = [...ids].sort()
        const ordered = (sort: FlowRunSort) => Effect.map(repo.filterFlowRuns({ sort, ...page }), (rs) => rs.map((r) => r.id))
        expect(yield* ordered("EXPECTED_START_TIME_ASC")).toEqual(asc)
        expect(yield* ordered("EXPECTED_START_TIME_DESC")).toEqual([...asc].reverse())
        expect(yield* ordered("END_TIME_DESC")).toEqual([...asc].reverse())
        // pages of a tied sort neither repeat nor skip rows
        const pages = [
          ...(yield* repo.filterFlowRuns({ sort: "EXPECTED_START_TIME_ASC", limit: 2, offset: 0 })),
          ...(yield* repo.filterFlowRuns({ sort: "EXPECTED_START_TIME_ASC", limit: 2, offset: 2 })),
          ...(yield* repo.filterFlowRuns({ sort: "EXPECTED_START_TIME_ASC", limit: 2, offset: 4 }))
        ]
        expect(pages.map((r) => r.id)).toEqual(asc)
      }))

    it.effect("task-run sorts and pagination", () =>
      Effect.gen(function*() {
        yield* seed
        const repo = yield* RunRepository
        const names = (sort: FlowRunSort, limit = 200, offset = 0) =>
          Effect.map(repo.filterTaskRuns({ sort, limit, offset }), (rs) => rs.map((r) => r.name))
        expect(yield* names("EXPECTED_START_TIME_ASC")).toEqual(["t1", "t2", "t3", "t4"])
        expect(yield* names("EXPECTED_START_TIME_DESC")).toEqual(["t3", "t2", "t1", "t4"])
        expect((yield* names("END_TIME_DESC")).slice(0, 2)).toEqual(["t1", "t2"])
        expect(yield* names("EXPECTED_START_TIME_DESC", 2, 1)).toEqual(["t2", "t1"])
      }))

    it.effect("flows and deployments are ordered by name and paged", () =>
      Effect.gen(function*() {
        yield* seed
        const flows = yield* FlowRepository
        expect((yield* flows.filter({ limit: 1, offset: 1 })).map((f) => f.name)).toEqual(["beta"])
        expect((yield* flows.filter({ limit: 5, offset: 2 })).map((f) => f.name)).toEqual(["gamma"])
        const deployments = yield* DeploymentRepository
        expect((yield* deployments.filter({ limit: 1, offset: 0 })).map((d) => d.name)).toEqual(["daily"])
        expect((yield* deployments.filter({ limit: 1, offset: 1 })).map((d) => d.name)).toEqual(["hourly"])
      }))
  })
})
