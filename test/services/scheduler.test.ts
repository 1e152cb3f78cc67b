/**
 * The scheduler service (spec §5.2): keeps each active deployment's runs scheduled ahead, pages through deployments,
 * refills the horizon as time passes, never makes a date twice, and never undoes a pause made while it worked.
 */
import { defaultRunPolicy } from "../../src/domain/policy.js"
import { describe, expect, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { scheduledRunKey } from "../../src/api/scheduling.js"
import type { DeploymentCreate, Uuid } from "../../src/domain/index.js"
import { DeploymentRepository, FlowRepository, Repositories, RunRepository } from "../../src/storage/repositories/index.js"
import { scheduleAt, schedulePage } from "../../services/scheduler.js"
import type { ServiceReporter } from "../../services/service.js"
import type { SchedulerSettings } from "../../services/settings.js"
import { databases } from "../support/databases.js"
import { clearDatabase } from "../support/fixtures.js"
import { orchestratorLayer } from "../support/orchestrator.js"

const t0 = new Date("2030-01-01T00:00:00.000Z")
const hours = (h: number) => new Date(t0.getTime() + h * 3_600_000)

const settings: SchedulerSettings = { loopSeconds: 60, deploymentBatchSize: 2, maxRuns: 5, maxScheduledSeconds: 100 * 86_400, insertBatchSize: 3 }

const errors: Array<string> = []
const report: ServiceReporter = { loopDone: () => Effect.void, nextDue: () => Effect.void, error: (m) => Effect.sync(() => void errors.push(m)) }

const deployment = (flow_id: Uuid, name: string, overrides: Partial<DeploymentCreate> = {}): DeploymentCreate => ({
  name, flow_id, flow_data: { encoding: "text", blob: "flows/etl.ts" },
  schedule: { interval: 3600, anchor_date: t0, timezone: null }, is_schedule_active: true, parameters: { n: 1 }, tags: ["prod"],
  flow_path: null, flow_export: null, work_queue: "default", empirical_policy: defaultRunPolicy, catchup_seconds: null, overlap: "allow", ...overrides
})

const runsOf = (deploymentId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT id, idempotency_key, state_type, state_name, auto_scheduled, next_scheduled_start_time FROM flow_run WHERE deployment_id = ${deploymentId}
      ORDER BY next_scheduled_start_time`)

describe.each(databases)("the scheduler on $name", (db) => {
  layer(Layer.provideMerge(Repositories, orchestratorLayer(db)), { excludeTestServices: true })((it) => {
    const setUp = Effect.gen(function*() {
      yield* clearDatabase
      const flows = yield* FlowRepository
      const deployments = yield* DeploymentRepository
      const flow = (yield* flows.create({ name: "etl", tags: [] })).value
      const make = (name: string, o: Partial<DeploymentCreate> = {}) => Effect.map(deployments.upsert(deployment(flow.id, name, o)), (u) => u.value)
      return {
        flow,
        a: yield* make("a"),
        b: yield* make("b", { schedule: { interval: 7200, anchor_date: t0, timezone: null } }),
        c: yield* make("c"),
        paused: yield* make("paused", { is_schedule_active: false }),
        unscheduled: yield* make("unscheduled", { schedule: null })
      }
    })

    it.effect("schedules every active deployment (paging through them) up to max_runs ahead, and a second pass makes nothing", () =>
      Effect.gen(function*() {
        errors.length = 0
        const { a, b, c, paused, unscheduled } = yield* setUp
        expect(yield* scheduleAt(t0, settings, report)).toBe(15)
        const runsA = yield* runsOf(a.id)
        expect(runsA.map((r: any) => r.idempotency_key)).toEqual([0, 1, 2, 3, 4].map((h) => scheduledRunKey(a.id, hours(h))))
        expect(runsA.every((r: any) => r.state_type === "SCHEDULED" && r.state_name === "Scheduled" && (r.auto_scheduled === true || r.auto_scheduled === 1))).toBe(true)
        const run = yield* (yield* RunRepository).getFlowRun(runsA[0]!.id as string)
        expect(run).toMatchObject({
          deployment_id: a.id, parameters: { n: 1 }, tags: ["auto-scheduled", "prod"], auto_scheduled: true,
          next_scheduled_start_time: t0, expected_start_time: t0, state: { type: "SCHEDULED", name: "Scheduled", message: "Flow run scheduled" }
        })
        expect((yield* runsOf(b.id)).length).toBe(5)
        expect((yield* runsOf(c.id)).length).toBe(5)
        expect(yield* runsOf(paused.id)).toEqual([])
        expect(yield* runsOf(unscheduled.id)).toEqual([])
        expect(yield* scheduleAt(t0, settings, report)).toBe(0)
        expect(errors).toEqual([])
      }))

    it.effect("as time passes, each pass refills the horizon with the dates that came into it", () =>
      Effect.gen(function*() {
        const { a, b } = yield* setUp
        yield* scheduleAt(t0, settings, report)
        // 2.5 hours later: a's window holds hours 3–7 (3, 4 exist), b's hours 4–12 every 2 (4, 6, 8 exist).
        expect(yield* scheduleAt(new Date(t0.getTime() + 2.5 * 3_600_000), settings, report)).toBe(3 + 2 + 3)
        expect((yield* runsOf(a.id)).map((r: any) => r.idempotency_key)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((h) => scheduledRunKey(a.id, hours(h))))
        expect((yield* runsOf(b.id)).map((r: any) => r.idempotency_key)).toEqual([0, 2, 4, 6, 8, 10, 12].map((h) => scheduledRunKey(b.id, hours(h))))
      }))

    it.effect("a deployment paused, changed or deleted while a pass made its runs loses those runs", () =>
      Effect.gen(function*() {
        const { a, b, c, flow } = yield* setUp
        const deployments = yield* DeploymentRepository
        yield* Effect.sleep("5 millis") // so that `updated` moves
        yield* deployments.setScheduleActive(a.id, false)
        yield* deployments.upsert(deployment(flow.id, "b", { schedule: { interval: 60, anchor_date: t0, timezone: null } }))
        yield* deployments.delete(c.id)
        // The page was read before those changes.
        expect(yield* schedulePage([a, b, c], t0, settings, report)).toBe(0)
        expect(yield* runsOf(a.id)).toEqual([])
        expect(yield* runsOf(b.id)).toEqual([])
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT id FROM flow_run`).toEqual([])
        // The changed deployment is scheduled by the next pass, with its new schedule.
        expect(yield* scheduleAt(t0, settings, report)).toBe(5)
        expect((yield* runsOf(b.id)).map((r: any) => r.idempotency_key)).toEqual([0, 1, 2, 3, 4].map((m) => scheduledRunKey(b.id, new Date(t0.getTime() + m * 60_000))))
      }))

    it.effect("a deployment whose schedule cannot be read or used is reported; the others are still scheduled", () =>
      Effect.gen(function*() {
        errors.length = 0
        const { a, b, c } = yield* setUp
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE deployment SET schedule = ${JSON.stringify({ interval: "soon" })} WHERE id = ${a.id}`
        yield* sql`UPDATE deployment SET schedule = ${JSON.stringify({ rrule: "FREQ=DAILY;BYSETPOS=1" })} WHERE id = ${b.id}`
        expect(yield* scheduleAt(t0, settings, report)).toBe(5)
        expect((yield* runsOf(c.id)).length).toBe(5)
        expect(errors).toHaveLength(2)
        expect(errors.find((e) => e.startsWith(`deployment ${a.id} (a) cannot be read: `))).toBeDefined()
        expect(errors.find((e) => e.startsWith(`deployment ${b.id} (b)`))).toContain("BYSETPOS")
      }))
  })
})
