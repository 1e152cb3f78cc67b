/** Deployments over real HTTP: upsert, schedules turned into runs, runs made from a deployment; SQLite and PostgreSQL. */
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { newUuid } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique } from "./harness.js"

const flowData = { encoding: "file", blob: "/flows/etl.ts" }
const DAY = 86_400

const newFlow = () => expectStatus(201, "POST", "/api/flows/", { name: unique("flow") })
const runsOf = (deploymentId: string) =>
  expectStatus(200, "POST", "/api/flow_runs/filter", { flow_runs: { deployment_id: { any_: [deploymentId] } }, sort: "EXPECTED_START_TIME_ASC" })

describe.each(databases)("API deployments on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("an active schedule gets its runs on create (201); an upsert (200) replaces the auto-scheduled runs", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const body = { name: "every-10-days", flow_id: flow.id, flow_data: flowData, schedule: { interval: 10 * DAY }, tags: ["prod"], parameters: { n: 1 } }
        const created = yield* call("POST", "/api/deployments/", body)
        expect(created.status).toBe(201)
        expect(created.json).toMatchObject({ name: "every-10-days", flow_id: flow.id, is_schedule_active: true, schedule: { interval: 10 * DAY, timezone: null, anchor_date: null } })
        const runs = yield* runsOf(created.json.id)
        expect(runs).toHaveLength(10)
        for (const run of runs) {
          expect(run).toMatchObject({
            auto_scheduled: true, tags: ["auto-scheduled", "prod"], parameters: { n: 1 }, flow_id: flow.id,
            state_type: "SCHEDULED", state: { name: "Scheduled", message: "Flow run scheduled" }
          })
          expect(run.next_scheduled_start_time).toBe(run.state.state_details.scheduled_time)
          expect(run.idempotency_key).toBe(`scheduled ${created.json.id} ${run.next_scheduled_start_time}`)
        }
        const gaps = runs.slice(1).map((r: { expected_start_time: string }, i: number) => (Date.parse(r.expected_start_time) - Date.parse(runs[i].expected_start_time)) / 1000)
        expect(new Set(gaps)).toEqual(new Set([10 * DAY]))

        const manual = yield* expectStatus(201, "POST", `/api/deployments/${created.json.id}/create_flow_run`, {})
        const updated = yield* call("POST", "/api/deployments", { ...body, schedule: { interval: 25 * DAY } })
        expect(updated.status).toBe(200)
        expect(updated.json).toMatchObject({ id: created.json.id, schedule: { interval: 25 * DAY } })
        const after = yield* runsOf(created.json.id)
        expect(after.filter((r: { auto_scheduled: boolean }) => r.auto_scheduled)).toHaveLength(4)
        expect(after.map((r: { id: string }) => r.id)).toContain(manual.id)

        expect(yield* expectStatus(200, "GET", `/api/deployments/name/${flow.name}/every-10-days`)).toMatchObject({ id: created.json.id })
        expect(yield* expectStatus(200, "GET", `/api/deployments/${created.json.id}`)).toMatchObject({ tags: ["prod"] })
      }))

    it.effect("set_schedule_inactive removes the scheduled runs; set_schedule_active makes them again", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const d = yield* expectStatus(201, "POST", "/api/deployments/", { name: "d", flow_id: flow.id, flow_data: flowData, schedule: { cron: "0 9 1 * *" } })
        expect((yield* runsOf(d.id)).length).toBeGreaterThanOrEqual(3)
        expect((yield* call("POST", `/api/deployments/${d.id}/set_schedule_inactive`)).status).toBe(204)
        expect(yield* expectStatus(200, "GET", `/api/deployments/${d.id}`)).toMatchObject({ is_schedule_active: false })
        expect(yield* runsOf(d.id)).toEqual([])
        expect((yield* call("POST", `/api/deployments/${d.id}/set_schedule_active`)).status).toBe(204)
        const runs = yield* runsOf(d.id)
        expect(runs.length).toBeGreaterThanOrEqual(3)
        for (const run of runs) expect(run.expected_start_time).toMatch(/-01T09:00:00\.000000\+00:00$/)
        const missing = newUuid()
        expect((yield* call("POST", `/api/deployments/${missing}/set_schedule_active`)).json).toMatchObject({ thing: "Deployment", id: missing })
        expect((yield* call("POST", `/api/deployments/${missing}/set_schedule_inactive`)).status).toBe(404)
      }))

    it.effect("schedule backfills a past window, at most max_runs, idempotently", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const d = yield* expectStatus(201, "POST", "/api/deployments/", {
          name: "hourly", flow_id: flow.id, flow_data: flowData, is_schedule_active: false,
          schedule: { rrule: "FREQ=HOURLY;BYMINUTE=30", timezone: "Europe/Berlin" }
        })
        expect(yield* runsOf(d.id)).toEqual([])
        const window = { start_time: "2021-11-19T00:00:00+00:00", end_time: "2021-11-19T23:59:59+00:00", max_runs: 5 }
        const reply = yield* call("POST", `/api/deployments/${d.id}/schedule`, window)
        expect(reply.status).toBe(200)
        expect(reply.json).toBe(null)
        yield* expectStatus(200, "POST", `/api/deployments/${d.id}/schedule`, window)
        const runs = yield* runsOf(d.id)
        expect(runs.map((r: { expected_start_time: string }) => r.expected_start_time)).toEqual(
          [0, 1, 2, 3, 4].map((h) => `2021-11-19T0${h}:30:00.000000+00:00`)
        )
        expect((yield* call("POST", `/api/deployments/${d.id}/schedule`, { max_runs: 0 })).status).toBe(422)
        expect((yield* call("POST", `/api/deployments/${newUuid()}/schedule`, {})).status).toBe(404)
      }))

    it.effect("create_flow_run overlays parameters, unions tags, defaults to Pending, and is idempotent", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const d = yield* expectStatus(201, "POST", "/api/deployments/", {
          name: "manual", flow_id: flow.id, flow_data: flowData, parameters: { a: 1, b: 2 }, tags: ["x", "y"]
        })
        const body = { parameters: { b: 3 }, tags: ["y", "z"], idempotency_key: "once" }
        const first = yield* call("POST", `/api/deployments/${d.id}/create_flow_run`, body)
        expect(first.status).toBe(201)
        expect(first.json).toMatchObject({ flow_id: flow.id, deployment_id: d.id, parameters: { a: 1, b: 3 }, tags: ["x", "y", "z"], state_type: "PENDING", auto_scheduled: false })
        const second = yield* call("POST", `/api/deployments/${d.id}/create_flow_run`, body)
        expect(second.status).toBe(200)
        expect(second.json.id).toBe(first.json.id)
        const scheduled = yield* expectStatus(201, "POST", `/api/deployments/${d.id}/create_flow_run`, {
          state: { type: "SCHEDULED", message: "Quick run through the Orion UI." }
        })
        expect(scheduled).toMatchObject({ state_type: "SCHEDULED", state: { message: "Quick run through the Orion UI." } })
        expect((yield* call("POST", `/api/deployments/${newUuid()}/create_flow_run`, {})).json).toMatchObject({ thing: "Deployment" })
        expect((yield* call("POST", `/api/deployments/${d.id}/create_flow_run`, { flow_id: flow.id })).status).toBe(422)
      }))

    it.effect("a deployment's run policies: read back, given to the runs it makes (scheduled and by hand); bad ones are a 422 naming them", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const policy = { max_retries: 2, retry_delay_seconds: 10, retry_jitter_factor: 0, retry_crashed: true }
        const body = { name: "sturdy", flow_id: flow.id, flow_data: flowData, schedule: { interval: 10 * DAY }, empirical_policy: policy, catchup_seconds: 600, overlap: "skip" }
        const created = yield* expectStatus(201, "POST", "/api/deployments/", body)
        expect(created).toMatchObject({ empirical_policy: policy, catchup_seconds: 600, overlap: "skip" })
        const scheduled = yield* runsOf(created.id)
        expect(scheduled.length).toBeGreaterThan(0)
        for (const run of scheduled) expect(run.empirical_policy).toEqual(policy)
        expect((yield* expectStatus(201, "POST", `/api/deployments/${created.id}/create_flow_run`, {})).empirical_policy).toEqual(policy)
        // Omitted: no retries, no window, overlap allowed.
        expect(yield* expectStatus(201, "POST", "/api/deployments/", { name: "plain", flow_id: flow.id, flow_data: flowData }))
          .toMatchObject({ empirical_policy: { max_retries: 0 }, catchup_seconds: null, overlap: "allow" })
        for (const [bad, named] of [[{ overlap: "queue" }, "overlap"], [{ catchup_seconds: -1 }, "catchup_seconds"], [{ empirical_policy: { max_retries: -1 } }, "max_retries"]] as const) {
          const refused = yield* call("POST", "/api/deployments/", { ...body, name: "refused", ...bad })
          expect(refused.status).toBe(422)
          expect(JSON.stringify(refused.json)).toContain(named)
        }
        expect((yield* expectStatus(200, "POST", "/api/deployments/filter", { deployments: { name: { any_: ["refused"] } } })).length).toBe(0)
      }))

    it.effect("filters, counts and deletes; refused payloads write nothing", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const tag = unique("dep")
        const a = yield* expectStatus(201, "POST", "/api/deployments/", { name: "a", flow_id: flow.id, flow_data: flowData, tags: [tag] })
        const b = yield* expectStatus(201, "POST", "/api/deployments/", { name: "b", flow_id: flow.id, flow_data: flowData, tags: [tag], is_schedule_active: false })
        const run = yield* expectStatus(201, "POST", `/api/deployments/${b.id}/create_flow_run`, {})
        const byTag = { deployments: { tags: { all_: [tag] } } }
        expect((yield* expectStatus(200, "POST", "/api/deployments/filter", byTag)).map((d: { name: string }) => d.name)).toEqual(["a", "b"])
        expect(yield* expectStatus(200, "POST", "/api/deployments/count", { ...byTag, deployments: { ...byTag.deployments, is_schedule_active: { eq_: false } } })).toBe(1)
        // deployments having a run (EXISTS), and flows having a deployment
        expect((yield* expectStatus(200, "POST", "/api/deployments/filter", { ...byTag, flow_runs: { id: { any_: [run.id] } } })).map((d: { id: string }) => d.id)).toEqual([b.id])
        expect((yield* expectStatus(200, "POST", "/api/flows/filter", { deployments: { id: { any_: [a.id] } } })).map((f: { id: string }) => f.id)).toEqual([flow.id])

        expect((yield* call("DELETE", `/api/deployments/${b.id}`)).status).toBe(204)
        expect((yield* call("GET", `/api/deployments/${b.id}`)).status).toBe(404)
        expect((yield* call("DELETE", `/api/deployments/${b.id}`)).status).toBe(404)
        expect(yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}`)).toMatchObject({ deployment_id: null })

        const unsupported = yield* call("POST", "/api/deployments/", { name: "c", flow_id: flow.id, flow_data: flowData, schedule: { rrule: "FREQ=DAILY;BYSETPOS=1" } })
        expect(unsupported.status).toBe(422)
        expect(unsupported.json).toMatchObject({ _tag: "InvalidRequest" })
        expect(unsupported.json.detail).toContain("BYSETPOS")
        const twoKinds = yield* call("POST", "/api/deployments/", { name: "c", flow_id: flow.id, flow_data: flowData, schedule: { interval: 60, cron: "* * * * *" } })
        expect(twoKinds.status).toBe(422)
        const badZone = yield* call("POST", "/api/deployments/", { name: "c", flow_id: flow.id, flow_data: flowData, schedule: { cron: "0 9 * * *", timezone: "Mars/Olympus" } })
        expect(badZone.status).toBe(422)
        // intervals whose dates a Date cannot hold (or tell apart) are refused, not a server error
        for (const interval of [1.73e-322, 1e-4, 1e300]) {
          const odd = yield* call("POST", "/api/deployments/", { name: "c", flow_id: flow.id, flow_data: flowData, schedule: { interval } })
          expect(odd.json.detail[0]).toMatchObject({ loc: ["schedule", "interval"] })
        }
        expect((yield* call("GET", `/api/deployments/name/${flow.name}/c`)).status).toBe(404)
        expect((yield* call("POST", "/api/deployments/", { name: "c", flow_id: newUuid(), flow_data: flowData })).json).toMatchObject({ thing: "Flow" })
      }))
  })
})

describe("API deployments with the scheduler's horizon set", () => {
  const settings = ConfigProvider.fromMap(new Map([["ORION_SERVICES_SCHEDULER_MAX_RUNS", "3"], ["ORION_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME", String(30 * DAY)]]))
  layer(apiServer(databases[0]!).pipe(Layer.provide(Layer.setConfigProvider(settings))), { excludeTestServices: true })((it) => {
    it.effect("a deployment's runs on create, and deleting it deletes its runs not started, others kept", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const body = { name: "hourly", flow_id: flow.id, flow_data: flowData, schedule: { interval: 3600 } }
        const rare = { name: "every-20-days", flow_id: flow.id, flow_data: flowData, schedule: { interval: 20 * DAY } }
        const created = yield* expectStatus(201, "POST", "/api/deployments/", body)
        const every20 = yield* expectStatus(201, "POST", "/api/deployments/", rare)
        // At most 3 runs (ORION_SERVICES_SCHEDULER_MAX_RUNS) …
        expect(yield* runsOf(created.id)).toHaveLength(3)
        // … at most 30 days ahead (…_MAX_SCHEDULED_TIME), which hold one or two dates 20 days apart (100 days would hold 5).
        const rareRuns = (yield* runsOf(every20.id)).length
        expect(rareRuns === 1 || rareRuns === 2).toBe(true)
        const manual = yield* expectStatus(201, "POST", `/api/deployments/${created.id}/create_flow_run`, {})
        expect((yield* call("DELETE", `/api/deployments/${created.id}`)).status).toBe(204)
        const left = yield* expectStatus(200, "POST", "/api/flow_runs/filter", { flow_runs: { id: { any_: [manual.id] } } })
        expect(left.map((r: { id: string; deployment_id: string | null }) => [r.id, r.deployment_id])).toEqual([[manual.id, null]])
        // The flow's runs now: the manual one and every-20-days's.
        expect(yield* expectStatus(200, "POST", "/api/flow_runs/count", { flows: { id: { any_: [flow.id] } } })).toBe(1 + rareRuns)
      }))
  })
})
