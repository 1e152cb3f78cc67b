/** `POST /api/flow_runs/{id}/heartbeat` and `/api/task_runs/{id}/heartbeat` over real HTTP, on SQLite and PostgreSQL. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { newUuid } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique, wireTimestamp } from "./harness.js"

describe.each(databases)("API heartbeats on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("a running run's heartbeat sets heartbeat_time (204); before and after Running nothing changes", () =>
      Effect.gen(function*() {
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("beat"), tags: [] })
        const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        const task = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: run.id, task_key: "t", dynamic_key: "0" })
        for (const [kind, id] of [["flow_runs", run.id], ["task_runs", task.id]] as const) {
          const pending = yield* call("POST", `/api/${kind}/${id}/heartbeat`)
          expect(pending.status).toBe(204)
          expect((yield* expectStatus(200, "GET", `/api/${kind}/${id}`)).heartbeat_time).toBeNull()

          yield* expectStatus(201, "POST", `/api/${kind}/${id}/set_state`, { state: { type: "RUNNING" } })
          expect((yield* call("POST", `/api/${kind}/${id}/heartbeat`)).status).toBe(204)
          const beat = (yield* expectStatus(200, "GET", `/api/${kind}/${id}`)).heartbeat_time
          expect(beat).toMatch(wireTimestamp)

          yield* expectStatus(201, "POST", `/api/${kind}/${id}/set_state`, { state: { type: "COMPLETED" } })
          expect((yield* call("POST", `/api/${kind}/${id}/heartbeat`)).status).toBe(204)
          expect((yield* expectStatus(200, "GET", `/api/${kind}/${id}`)).heartbeat_time).toBe(beat)
        }
      }))

    it.effect("an unknown run is 404, a malformed id 422", () =>
      Effect.gen(function*() {
        const missing = yield* call("POST", `/api/task_runs/${newUuid()}/heartbeat`)
        expect(missing.status).toBe(404)
        expect(missing.json).toMatchObject({ _tag: "ObjectNotFound", thing: "Task run", detail: "Task run not found" })
        expect((yield* call("POST", `/api/flow_runs/${newUuid()}/heartbeat`)).json).toMatchObject({ thing: "Flow run" })
        expect((yield* call("POST", "/api/flow_runs/nope/heartbeat")).status).toBe(422)
      }))
  })
})
