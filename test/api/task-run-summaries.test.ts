/** `GET /api/flow_runs/{id}/task_run_summaries`: a flow run's task runs with only what the dashboard shows, page by page, on SQLite and PostgreSQL. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { newUuid } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique, wireTimestamp } from "./harness.js"

describe.each(databases)("task-run summaries on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("pages through a flow run's task runs in id order, each with id, created, name, state and times only", () =>
      Effect.gen(function*() {
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("flow") })
        const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        const other = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        const created: Array<string> = []
        for (let i = 0; i < 5; i++) {
          const t = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: run.id, task_key: `t-${i}`, dynamic_key: "0", name: `task-${i}` })
          created.push(t.id)
        }
        yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: other.id, task_key: "elsewhere", dynamic_key: "0" })
        yield* expectStatus(201, "POST", `/api/task_runs/${created[0]}/set_state`, { state: { type: "RUNNING" } })
        yield* expectStatus(201, "POST", `/api/task_runs/${created[0]}/set_state`, { state: { type: "COMPLETED" } })

        const first = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries?limit=2`)
        expect(first).toHaveLength(2)
        expect(Object.keys(first[0]).sort()).toEqual(["created", "end_time", "id", "name", "start_time", "state_name", "state_type"])
        const second = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries?limit=2&after=${first[1].id}`)
        const third = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries?limit=2&after=${second[1].id}`)
        expect(third).toHaveLength(1)
        const all = [...first, ...second, ...third]
        expect(all.map((t: any) => t.id)).toEqual([...created].sort())
        const done = all.find((t: any) => t.id === created[0])
        expect(done).toMatchObject({ name: "task-0", state_type: "COMPLETED", state_name: "Completed" })
        expect(done.start_time).toMatch(wireTimestamp)
        expect(done.end_time).toMatch(wireTimestamp)
        expect(all.find((t: any) => t.id === created[1])).toMatchObject({ state_type: "PENDING", start_time: null, end_time: null })
        // the default page holds them all
        expect(yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries`)).toEqual(all)
      }))

    it.effect("an unknown flow run is a 404; a limit out of range or a malformed id is a 422 naming it", () =>
      Effect.gen(function*() {
        const missing = yield* call("GET", `/api/flow_runs/${newUuid()}/task_run_summaries`)
        expect(missing.status).toBe(404)
        expect(missing.text).toContain("Flow run")
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("flow") })
        const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        for (const query of ["limit=0", "limit=5001", "limit=abc", "after=nope"]) {
          const bad = yield* call("GET", `/api/flow_runs/${run.id}/task_run_summaries?${query}`)
          expect(bad.status, query).toBe(422)
          expect(bad.text, query).toContain(query.split("=")[0])
        }
      }))
  })
})
