/**
 * Schedules over real HTTP: a deployment's cron aliases, L and #, and RRULE BYSETPOS in a DTSTART zone become its runs;
 * a cron or RRULE Orion cannot honour is a 422 naming the field or part, and nothing is written. Parsing, not storage,
 * is under test here, so SQLite alone.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique } from "./harness.js"

const flowData = { encoding: "file", blob: "/flows/etl.ts" }
const sqlite = databases.filter((db) => db.name === "sqlite")

const newFlow = () => expectStatus(201, "POST", "/api/flows/", { name: unique("flow") })
const startTimes = (deploymentId: string) =>
  Effect.map(
    expectStatus(200, "POST", "/api/flow_runs/filter", { flow_runs: { deployment_id: { any_: [deploymentId] } }, sort: "EXPECTED_START_TIME_ASC" }),
    (runs: Array<{ expected_start_time: string }>) => runs.map((r) => r.expected_start_time.replace(".000000+00:00", "Z")))

/** A deployment with this schedule, off, then backfilled over a window: the start times of its runs. */
const runsFor = (schedule: unknown, window: { start_time: string; end_time: string; max_runs: number }) =>
  Effect.gen(function*() {
    const flow = yield* newFlow()
    const d = yield* expectStatus(201, "POST", "/api/deployments/", { name: unique("d"), flow_id: flow.id, flow_data: flowData, is_schedule_active: false, schedule })
    yield* expectStatus(200, "POST", `/api/deployments/${d.id}/schedule`, window)
    return yield* startTimes(d.id)
  })

describe.each(sqlite)("API schedules on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("cron aliases, L and # make the runs they say, in the schedule's zone across DST", () =>
      Effect.gen(function*() {
        const year = { start_time: "2021-01-01T00:00:00+00:00", end_time: "2021-12-31T23:59:59+00:00", max_runs: 3 }
        expect(yield* runsFor({ cron: "@monthly" }, year)).toEqual(["2021-01-01T00:00:00Z", "2021-02-01T00:00:00Z", "2021-03-01T00:00:00Z"])
        expect(yield* runsFor({ cron: "0 18 L * *" }, year)).toEqual(["2021-01-31T18:00:00Z", "2021-02-28T18:00:00Z", "2021-03-31T18:00:00Z"])
        expect(yield* runsFor({ cron: "0 9 * * 1#2", timezone: "Europe/Berlin" }, year)).toEqual(["2021-01-11T08:00:00Z", "2021-02-08T08:00:00Z", "2021-03-08T08:00:00Z"])
        // 02:30 on the last Friday… and on 28 March 2021 (spring forward in Berlin) at 03:30 CEST
        const spring = { start_time: "2021-03-26T00:00:00+00:00", end_time: "2021-03-29T23:59:59+00:00", max_runs: 10 }
        expect(yield* runsFor({ cron: "30 2 * * *", timezone: "Europe/Berlin" }, spring))
          .toEqual(["2021-03-26T01:30:00Z", "2021-03-27T01:30:00Z", "2021-03-28T01:30:00Z", "2021-03-29T00:30:00Z"])
      }))

    it.effect("an RRULE with BYSETPOS, EXDATE and a DTSTART;TZID makes its runs in that zone", () =>
      Effect.gen(function*() {
        const rule = "DTSTART;TZID=America/New_York:20210101T170000\nRRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1\nEXDATE;TZID=America/New_York:20210226T170000"
        const runs = yield* runsFor({ rrule: rule }, { start_time: "2021-01-01T00:00:00+00:00", end_time: "2021-04-30T23:59:59+00:00", max_runs: 10 })
        // last weekdays at 17:00 New York: EST in January, EDT from 14 March; February's is excluded
        expect(runs).toEqual(["2021-01-29T22:00:00Z", "2021-03-31T21:00:00Z", "2021-04-30T21:00:00Z"])
      }))

    it.effect("an unknown or unsupported RRULE part, or a bad cron field, is a 422 naming it; nothing is written", () =>
      Effect.gen(function*() {
        const flow = yield* newFlow()
        const create = (name: string, schedule: unknown) => call("POST", "/api/deployments/", { name, flow_id: flow.id, flow_data: flowData, schedule })
        for (
          const [schedule, named] of [
            [{ rrule: "FREQ=DAILY;BYEASTER=0" }, "BYEASTER is not an RRULE part"],
            [{ rrule: "FREQ=DAILY;BYSETPOS=1" }, "BYSETPOS needs another BYxxx part"],
            [{ rrule: "DTSTART:20210101T000000\nRRULE:FREQ=DAILY\nEXRULE:FREQ=WEEKLY" }, "EXRULE is not supported"],
            [{ rrule: "FREQ=MONTHLY;BYWEEKNO=3" }, "BYWEEKNO needs FREQ=YEARLY"]
          ] as const
        ) {
          const reply = yield* create("bad-rrule", schedule)
          expect(reply.status).toBe(422)
          expect(reply.json).toMatchObject({ _tag: "InvalidRequest" })
          expect(reply.json.detail).toContain(named)
        }
        for (
          const [cron, named] of [
            ["0 0 * * 1#6", "the week number after # must be 1–5"],
            ["@fortnightly", "unknown alias"],
            ["0 25 * * *", "hour field \"25\""]
          ] as const
        ) {
          const reply = yield* create("bad-cron", { cron })
          expect(reply.status).toBe(422)
          // the payload's schema refuses it: the cron field's entry says why
          expect(reply.json.detail).toContainEqual(expect.objectContaining({ loc: ["schedule", "cron"], msg: expect.stringContaining(named) }))
        }
        for (const name of ["bad-rrule", "bad-cron"]) expect((yield* call("GET", `/api/deployments/name/${flow.name}/${name}`)).status).toBe(404)
      }))
  })
})
