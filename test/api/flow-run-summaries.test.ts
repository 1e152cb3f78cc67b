/** `POST /api/flow_runs/summaries`: the flow runs `/flow_runs/filter` answers, with only the fields a list shows, on SQLite and PostgreSQL. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique, wireTimestamp } from "./harness.js"

const FIELDS = [
  "deployment_id", "end_time", "estimated_run_time", "expected_start_time", "flow_id", "id", "name", "next_scheduled_start_time",
  "start_time", "state_name", "state_type", "tags", "total_run_time"
]

describe.each(databases)("flow-run summaries on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("answers the same runs as /filter for the same body, in the same order, each with the list's fields only", () =>
      Effect.gen(function*() {
        const tag = unique("tag")
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("flow") })
        const ids: Array<string> = []
        for (let i = 0; i < 4; i++) {
          const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id, name: `run-${i}`, tags: [tag, `n${i}`], parameters: { big: "x".repeat(1000) } })
          ids.push(run.id)
        }
        yield* expectStatus(201, "POST", `/api/flow_runs/${ids[1]}/set_state`, { state: { type: "RUNNING" } })
        yield* expectStatus(201, "POST", `/api/flow_runs/${ids[2]}/set_state`, { state: { type: "RUNNING" } })
        yield* expectStatus(201, "POST", `/api/flow_runs/${ids[2]}/set_state`, { state: { type: "COMPLETED" } })

        for (const body of [
          { flow_runs: { tags: { all_: [tag] } } },
          { flow_runs: { tags: { all_: [tag] } }, sort: "END_TIME_DESC", limit: 2 },
          { flow_runs: { tags: { all_: [tag] }, state: { type: { any_: ["RUNNING", "COMPLETED"] } } }, flows: { id: { any_: [flow.id] } } },
          { flow_runs: { tags: { all_: [tag] } }, limit: 2, offset: 2 }
        ]) {
          const whole = yield* expectStatus(200, "POST", "/api/flow_runs/filter", body)
          const brief = yield* expectStatus(200, "POST", "/api/flow_runs/summaries", body)
          expect(brief.map((r: any) => r.id), JSON.stringify(body)).toEqual(whole.map((r: any) => r.id))
          for (const [i, r] of brief.entries()) {
            expect(Object.keys(r).sort()).toEqual(FIELDS)
            const full = whole[i]
            for (const key of FIELDS.filter((k) => k !== "estimated_run_time")) expect(r[key], key).toEqual(full[key])
          }
        }

        const all = yield* expectStatus(200, "POST", "/api/flow_runs/summaries", { flow_runs: { tags: { all_: [tag] } } })
        expect(all).toHaveLength(4)
        const running = all.find((r: any) => r.id === ids[1])
        expect(running).toMatchObject({ state_type: "RUNNING", name: "run-1", tags: [tag, "n1"], flow_id: flow.id, end_time: null })
        expect(running.start_time).toMatch(wireTimestamp)
        expect(running.estimated_run_time).toBeGreaterThanOrEqual(0)
        const done = all.find((r: any) => r.id === ids[2])
        expect(done.estimated_run_time).toBe(done.total_run_time)
        expect(done.end_time).toMatch(wireTimestamp)
        // the slim answer is much smaller than the whole runs (no parameters, context, policy or state document)
        const wholeText = (yield* call("POST", "/api/flow_runs/filter", { flow_runs: { tags: { all_: [tag] } } })).text
        const briefText = (yield* call("POST", "/api/flow_runs/summaries", { flow_runs: { tags: { all_: [tag] } } })).text
        expect(briefText.length * 4).toBeLessThan(wholeText.length)
      }))

    it.effect("bad bodies are 4xx naming what was wrong", () =>
      Effect.gen(function*() {
        const tooMany = yield* call("POST", "/api/flow_runs/summaries", { limit: 201 })
        expect(tooMany.status).toBe(422)
        expect(tooMany.text).toContain("limit must be between 0 and 200")
        const badSort = yield* call("POST", "/api/flow_runs/summaries", { sort: "SIDEWAYS" })
        expect(badSort.status).toBe(422)
        expect(badSort.text).toContain("sort")
        const badState = yield* call("POST", "/api/flow_runs/summaries", { flow_runs: { state: { type: { any_: ["NOPE"] } } } })
        expect(badState.status).toBe(422)
        expect(badState.text).toContain("NOPE")
        const unknownField = yield* call("POST", "/api/flow_runs/summaries", { flow_run: {} })
        expect(unknownField.status).toBe(422)
        expect(unknownField.text).toContain("flow_run")
      }))
  })
})
