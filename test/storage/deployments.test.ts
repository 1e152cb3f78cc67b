import { describe, expect, layer } from "@effect/vitest"
import { defaultRunPolicy } from "../../src/domain/policy.js"
import { Clock, Effect, Layer, TestClock } from "effect"
import { type DeploymentCreate, newUuid, ObjectNotFound, type Uuid } from "../../src/domain/index.js"
import { DeploymentRepository, FlowRepository, Repositories, RunRepository } from "../../src/storage/repositories/index.js"
import { databases } from "../support/databases.js"
import { at, clearDatabase, countRows, insertFlowRun } from "../support/fixtures.js"

const deployment = (flow_id: Uuid, name: string, overrides: Partial<DeploymentCreate> = {}): DeploymentCreate => ({
  name, flow_id, flow_data: { encoding: "text", blob: "flows/etl.ts" }, schedule: null, is_schedule_active: true,
  parameters: {}, tags: [], flow_path: null, flow_export: null, work_queue: "default", empirical_policy: defaultRunPolicy, catchup_seconds: null, overlap: "allow", ...overrides
})

describe.each(databases)("DeploymentRepository on $name", (db) => {
  layer(Layer.provideMerge(Repositories, db.layer()))((it) => {
    const flow = (name: string) => Effect.flatMap(FlowRepository, (r) => Effect.map(r.create({ name, tags: [] }), (x) => x.value))

    it.effect("upsert creates, then overwrites schedule, activation, tags, parameters and flow data of the same (flow, name)", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* TestClock.setTime(at("10:00").getTime())
        const repo = yield* DeploymentRepository
        const f = yield* flow("etl")
        const g = yield* flow("other")
        const schedule = { interval: 3600, timezone: null, anchor_date: at("09:30") }
        const first = yield* repo.upsert(deployment(f.id, "hourly", { schedule, parameters: { n: 1 }, tags: ["a"] }))
        expect(first.created).toBe(true)
        expect(first.value).toMatchObject({
          name: "hourly", flow_id: f.id, schedule, is_schedule_active: true, parameters: { n: 1 }, tags: ["a"],
          flow_data: { encoding: "text", blob: "flows/etl.ts" }, created: at("10:00"), updated: at("10:00")
        })
        yield* TestClock.adjust("1 minute")
        const cron = { cron: "0 9 * * 1-5", timezone: "America/New_York", day_or: false }
        const second = yield* repo.upsert(deployment(f.id, "hourly", {
          schedule: cron, is_schedule_active: false, parameters: { n: 2 }, tags: ["b"], flow_data: { encoding: "json", blob: "{}" }
        }))
        expect(second.created).toBe(false)
        expect(second.value).toEqual({
          ...first.value, schedule: cron, is_schedule_active: false, parameters: { n: 2 }, tags: ["b"],
          flow_data: { encoding: "json", blob: "{}" }, updated: at("10:01")
        })
        expect(yield* repo.get(first.value.id)).toEqual(second.value)
        // same name under another flow is another deployment
        const third = yield* repo.upsert(deployment(g.id, "hourly", { schedule: { rrule: "FREQ=DAILY", timezone: "UTC" } }))
        expect(third.created).toBe(true)
        expect(third.value.schedule).toEqual({ rrule: "FREQ=DAILY", timezone: "UTC" })
        expect(yield* repo.count({})).toBe(2)
      }))

    it.effect("upsert deletes only this deployment's auto-scheduled runs that are still SCHEDULED", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* DeploymentRepository
        const f = yield* flow("etl")
        const { value: d } = yield* repo.upsert(deployment(f.id, "d"))
        const { value: e } = yield* repo.upsert(deployment(f.id, "e"))
        const autoScheduled = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: true, state: { type: "SCHEDULED" } })
        const autoLate = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: true, state: { type: "SCHEDULED", name: "Late" } })
        const autoRunning = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: true, state: { type: "RUNNING" } })
        const manual = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: false, state: { type: "SCHEDULED" } })
        const otherDeployment = yield* insertFlowRun({ flow_id: f.id, deployment_id: e.id, auto_scheduled: true, state: { type: "SCHEDULED" } })
        yield* repo.upsert(deployment(f.id, "d", { tags: ["new"] }))
        const runs = yield* RunRepository
        const left = (yield* runs.filterFlowRuns({ limit: 200, offset: 0, sort: "ID_DESC" })).map((r) => r.id).sort()
        expect(left).toEqual([autoRunning, manual, otherDeployment].sort())
        expect(left).not.toContain(autoScheduled)
        expect(left).not.toContain(autoLate)
      }))

    it.effect("deleting a deployment while its schedule is turned off, and while it is upserted, never fails either (no deadlock)", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* DeploymentRepository
        const f = yield* flow("raced")
        for (let round = 0; round < 6; round++) {
          const { value: d } = yield* repo.upsert(deployment(f.id, `raced-${round}`))
          yield* Effect.forEach(Array.from({ length: 40 }), () =>
            insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: true, state: { type: "SCHEDULED" } }), { concurrency: 8 })
          const outcomes = yield* Effect.all([
            Effect.either(repo.changeScheduleActive(d.id, false)),
            Effect.either(repo.upsert(deployment(f.id, `raced-${round}`, { tags: ["again"] }))),
            Effect.either(repo.delete(d.id))
          ], { concurrency: "unbounded" })
          // Only "not found" may come of the race (the deployment deleted first); never a database error.
          for (const o of outcomes) if (o._tag === "Left") expect(o.left).toMatchObject({ _tag: "ObjectNotFound" })
        }
        // a retried transaction pauses a few milliseconds: on the real clock
      }).pipe(Effect.withClock(Clock.make())))

    it.effect("upsert for a missing flow is ObjectNotFound 'Flow' and writes nothing", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* DeploymentRepository
        const missing = newUuid()
        expect(yield* Effect.flip(repo.upsert(deployment(missing, "d")))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow", id: missing })
        expect(yield* countRows("deployment")).toBe(0)
      }))

    it.effect("get, getByName(flow, deployment); unknown ones are ObjectNotFound 'Deployment not found'", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* DeploymentRepository
        const f = yield* flow("etl")
        const g = yield* flow("ml")
        const { value: d } = yield* repo.upsert(deployment(f.id, "prod"))
        const { value: e } = yield* repo.upsert(deployment(g.id, "prod"))
        expect(yield* repo.get(d.id)).toEqual(d)
        expect(yield* repo.getByName("etl", "prod")).toEqual(d)
        expect(yield* repo.getByName("ml", "prod")).toEqual(e)
        const err = yield* Effect.flip(repo.getByName("etl", "dev"))
        expect(err).toBeInstanceOf(ObjectNotFound)
        expect(err).toMatchObject({ thing: "Deployment", id: "etl/dev", message: "Deployment not found" })
        expect(yield* Effect.flip(repo.getByName("nope", "prod"))).toMatchObject({ thing: "Deployment" })
        expect(yield* Effect.flip(repo.get(newUuid()))).toMatchObject({ thing: "Deployment" })
      }))

    it.effect("the flow's location and work queue are stored, overwritten by an upsert, and filter by queue", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* DeploymentRepository
        const f = yield* flow("etl")
        const first = yield* repo.upsert(deployment(f.id, "nightly", { flow_path: "/srv/flows/etl.ts", flow_export: "etl", work_queue: "gpu" }))
        expect(first.value).toMatchObject({ flow_path: "/srv/flows/etl.ts", flow_export: "etl", work_queue: "gpu" })
        const moved = yield* repo.upsert(deployment(f.id, "nightly", { flow_path: "/srv/v2/etl.ts", flow_export: "etlV2" }))
        expect(moved.created).toBe(false)
        expect(moved.value).toMatchObject({ id: first.value.id, flow_path: "/srv/v2/etl.ts", flow_export: "etlV2", work_queue: "default" })
        yield* repo.upsert(deployment(f.id, "gpu-one", { work_queue: "gpu" }))
        const gpu = yield* repo.filter({ deployments: { work_queue: { any_: ["gpu"] } }, limit: 200, offset: 0 })
        expect(gpu.map((d) => d.name)).toEqual(["gpu-one"])
        expect(yield* repo.count({ deployments: { work_queue: { any_: ["default", "gpu"] } } })).toBe(2)
      }))

    it.effect("filter orders by name and pages; count", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* DeploymentRepository
        const f = yield* flow("etl")
        for (const name of ["c", "a", "d", "b"]) yield* repo.upsert(deployment(f.id, name, { is_schedule_active: name !== "b" }))
        expect((yield* repo.filter({ limit: 200, offset: 0 })).map((d) => d.name)).toEqual(["a", "b", "c", "d"])
        expect((yield* repo.filter({ limit: 2, offset: 1 })).map((d) => d.name)).toEqual(["b", "c"])
        expect((yield* repo.filter({ deployments: { is_schedule_active: { eq_: true } }, limit: 200, offset: 1 })).map((d) => d.name)).toEqual(["c", "d"])
        expect(yield* repo.count({ deployments: { is_schedule_active: { eq_: true } } })).toBe(3)
        expect(yield* repo.count({ flows: { name: { any_: ["other"] } } })).toBe(0)
      }))

    it.effect("delete removes the runs not started (auto-scheduled or made by hand) and keeps the others with deployment_id null", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const repo = yield* DeploymentRepository
        const runs = yield* RunRepository
        const f = yield* flow("etl")
        const { value: d } = yield* repo.upsert(deployment(f.id, "d"))
        const unstarted = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: true, state: { type: "SCHEDULED" } })
        const byHand = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: false, state: { type: "SCHEDULED" } })
        const run = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: true, state: { type: "RUNNING" }, run_count: 1 })
        const retrying = yield* insertFlowRun({
          flow_id: f.id, deployment_id: d.id, auto_scheduled: true, state: { type: "SCHEDULED", name: "AwaitingRetry" }, run_count: 1, start_time: at("09:00")
        })
        const { value: other } = yield* repo.upsert(deployment(f.id, "other"))
        const others = yield* insertFlowRun({ flow_id: f.id, deployment_id: other.id, auto_scheduled: true, state: { type: "SCHEDULED" } })
        expect(yield* repo.delete(d.id)).toEqual([unstarted, byHand])
        expect(yield* Effect.flip(repo.get(d.id))).toBeInstanceOf(ObjectNotFound)
        for (const gone of [unstarted, byHand]) expect(yield* Effect.flip(runs.getFlowRun(gone))).toBeInstanceOf(ObjectNotFound)
        expect((yield* runs.getFlowRun(run)).deployment_id).toBeNull()
        expect((yield* runs.getFlowRun(retrying)).deployment_id).toBeNull()
        expect((yield* runs.getFlowRun(others)).deployment_id).toBe(other.id)
        expect(yield* Effect.flip(repo.delete(d.id))).toMatchObject({ _tag: "ObjectNotFound", thing: "Deployment" })
      }))

    it.effect("setScheduleActive: off deletes auto-scheduled SCHEDULED runs, on keeps them; bumps updated", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* TestClock.setTime(at("10:00").getTime())
        const repo = yield* DeploymentRepository
        const f = yield* flow("etl")
        const { value: d } = yield* repo.upsert(deployment(f.id, "d", { is_schedule_active: false }))
        const first = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, auto_scheduled: true, state: { type: "SCHEDULED" } })
        yield* TestClock.adjust("1 minute")
        const on = yield* repo.setScheduleActive(d.id, true)
        expect(on).toMatchObject({ id: d.id, is_schedule_active: true, updated: at("10:01"), created: at("10:00") })
        expect(yield* countRows("flow_run", { column: "id", value: first })).toBe(1)
        const manual = yield* insertFlowRun({ flow_id: f.id, deployment_id: d.id, state: { type: "SCHEDULED" } })
        const off = yield* repo.setScheduleActive(d.id, false)
        expect(off.is_schedule_active).toBe(false)
        expect(yield* repo.get(d.id)).toEqual(off)
        expect(yield* countRows("flow_run", { column: "id", value: first })).toBe(0)
        expect(yield* countRows("flow_run", { column: "id", value: manual })).toBe(1)
        expect(yield* Effect.flip(repo.setScheduleActive(newUuid(), true))).toMatchObject({ _tag: "ObjectNotFound", thing: "Deployment" })
      }))
  })
})
