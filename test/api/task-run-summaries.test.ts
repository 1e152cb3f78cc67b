/** `GET /api/flow_runs/{id}/task_run_summaries`: a flow run's task runs with only what the dashboard shows, column by column, page by page, on SQLite and PostgreSQL. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { newUuid } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique, wireTimestamp } from "./harness.js"

describe.each(databases)("task-run summaries on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("pages through a flow run's task runs in id order, column by column, times as epoch ms", () =>
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

        const rows = (page: any) => page.id.map((id: string, i: number) => ({
          id, name: page.name[i], state_type: page.state_type[i], state_name: page.state_name[i],
          created: page.created[i], start_time: page.start_time[i], end_time: page.end_time[i]
        }))
        const first = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries?limit=2`)
        expect(Object.keys(first).sort()).toEqual(["created", "end_time", "id", "name", "next_after", "start_time", "state_name", "state_type"])
        for (const column of ["id", "name", "state_type", "state_name", "created", "start_time", "end_time"]) expect(first[column], column).toHaveLength(2)
        expect(first.next_after).toBe(first.id[1])
        const second = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries?limit=2&after=${first.next_after}`)
        const third = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries?limit=2&after=${second.next_after}`)
        expect(third.id).toHaveLength(1)
        expect(third.next_after).toBeNull()
        const all = [...rows(first), ...rows(second), ...rows(third)]
        expect(all.map((t: any) => t.id)).toEqual([...created].sort())
        // the same task runs as whole task runs, times as epoch ms
        const whole = yield* expectStatus(200, "POST", "/api/task_runs/filter", { flow_runs: { id: { any_: [run.id] } } })
        const ms = (text: string | null) => (text === null ? null : Date.parse(text))
        for (const t of all) {
          const w = whole.find((x: any) => x.id === t.id)
          expect(t).toEqual({ id: w.id, name: w.name, state_type: w.state_type, state_name: w.state_name, created: ms(w.created), start_time: ms(w.start_time), end_time: ms(w.end_time) })
        }
        const done = all.find((t: any) => t.id === created[0])
        expect(done).toMatchObject({ name: "task-0", state_type: "COMPLETED", state_name: "Completed" })
        expect(done.end_time).toBeGreaterThanOrEqual(done.start_time)
        expect(done.start_time).toBeGreaterThan(Date.parse("2020-01-01T00:00:00Z"))
        expect(all.find((t: any) => t.id === created[1])).toMatchObject({ state_type: "PENDING", start_time: null, end_time: null })
        // the default page holds them all, and says it is the last
        const one = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries`)
        expect(rows(one)).toEqual(all)
        expect(one.next_after).toBeNull()
        // exactly `limit` left: the page is full, and the next (empty) one says it is the last
        const exact = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_summaries?limit=5`)
        expect(exact.next_after).toBeNull()
      }))

    it.effect("an unknown flow run is a 404; a limit out of range or a malformed id is a 422 naming it", () =>
      Effect.gen(function*() {
        const missing = yield* call("GET", `/api/flow_runs/${newUuid()}/task_run_summaries`)
        expect(missing.status).toBe(404)
        expect(missing.text).toContain("Flow run")
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("flow") })
        const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        for (const query of ["limit=0", "limit=10001", "limit=abc", "after=nope"]) {
          const bad = yield* call("GET", `/api/flow_runs/${run.id}/task_run_summaries?${query}`)
          expect(bad.status, query).toBe(422)
          expect(bad.text, query).toContain(query.split("=")[0])
        }
      }))
  })
})
