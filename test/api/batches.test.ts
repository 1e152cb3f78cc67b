/** Batches over real HTTP, on SQLite and PostgreSQL: `set_states` and `task_runs/create_many`, each item answered on its own. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { newUuid } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique } from "./harness.js"

const newFlowRun = Effect.gen(function*() {
  const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("batch"), tags: [] })
  return yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
})

describe.each(databases)("API batches on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("set_states answers each proposal in order: results, and not-founds for missing runs", () =>
      Effect.gen(function*() {
        const a = yield* newFlowRun
        const b = yield* newFlowRun
        const missing = newUuid()
        const answers = yield* expectStatus(200, "POST", "/api/flow_runs/set_states", [
          { id: a.id, state: { type: "RUNNING" } },
          { id: missing, state: { type: "RUNNING" } },
          { id: b.id, state: { type: "SCHEDULED" } },
          { id: b.id, state: { type: "COMPLETED", message: "forced" }, force: true }
        ])
        expect(answers).toHaveLength(4)
        expect(answers[0]).toMatchObject({ result: { status: "ACCEPT", state: { type: "RUNNING" } } })
        expect(answers[1]).toEqual({ error: { _tag: "ObjectNotFound", thing: "Flow run", id: missing } })
        expect(answers[2]).toMatchObject({ result: { status: "ABORT", state: null, details: { type: "abort_details" } } })
        expect(answers[3]).toMatchObject({ result: { status: "ACCEPT", state: { type: "COMPLETED", message: "forced" } } })
        expect((yield* expectStatus(200, "GET", `/api/flow_runs/${b.id}`)).state_type).toBe("COMPLETED")
        expect(yield* expectStatus(200, "POST", "/api/task_runs/set_states", [])).toEqual([])
      }))

    it.effect("create_many creates (and starts) task runs, finds existing ones without starting them, and refuses taken ids", () =>
      Effect.gen(function*() {
        const run = yield* newFlowRun
        const item = (key: string, start: unknown = null, extra: Record<string, unknown> = {}) =>
          ({ run: { flow_run_id: run.id, task_key: key, dynamic_key: "0", ...extra }, start })
        const missing = newUuid()
        const answers = yield* expectStatus(200, "POST", "/api/task_runs/create_many", [
          item("plain"),
          item("started", { type: "RUNNING" }),
          { run: { flow_run_id: missing, task_key: "orphan", dynamic_key: "0" }, start: null }
        ])
        expect(answers[0]).toMatchObject({ run: { created: true, state: { type: "PENDING" } } })
        expect(answers[0].run.started).toBeUndefined()
        expect(answers[1]).toMatchObject({ run: { created: true, state: { type: "RUNNING" }, started: { status: "ACCEPT", state: { type: "RUNNING" } } } })
        expect(answers[2]).toEqual({ error: { _tag: "ObjectNotFound", thing: "Flow run", id: missing } })
        const started = answers[1].run
        expect((yield* expectStatus(200, "GET", `/api/task_run_states/?task_run_id=${started.id}`)).map((s: { name: string }) => s.name)).toEqual(["Pending", "Running"])

        const again = yield* expectStatus(200, "POST", "/api/task_runs/create_many", [
          item("plain", { type: "RUNNING" }),
          item("other", null, { id: started.id })
        ])
        expect(again[0]).toMatchObject({ run: { id: answers[0].run.id, created: false, state: { type: "PENDING" } } })
        expect(again[0].run.started).toBeUndefined()
        expect(again[1]).toMatchObject({ error: { _tag: "Conflict" } })
        expect(again[1].error.detail).toContain(`Task run ${started.id} already exists`)
        expect(yield* expectStatus(200, "POST", "/api/task_runs/count", { flow_runs: { id: { any_: [run.id] } } })).toBe(2)
      }))

    it.effect("a batch that does not match its schema is refused whole (422), before anything is applied", () =>
      Effect.gen(function*() {
        const run = yield* newFlowRun
        const bad = yield* call("POST", "/api/flow_runs/set_states", [{ id: run.id, state: { type: "RUNNING" } }, { id: run.id, state: { type: "BOGUS" } }])
        expect(bad.status).toBe(422)
        expect(bad.json.detail[0].loc).toEqual([1, "state", "type"])
        const unknown = yield* call("POST", "/api/task_runs/create_many", [{ run: { flow_run_id: run.id, task_key: "k", dynamic_key: "0" }, start: null, extra: 1 }])
        expect(unknown.status).toBe(422)
        expect(unknown.json.message).toContain("unknown field")
        const tooMany = yield* call("POST", "/api/flow_runs/set_states", Array.from({ length: 1001 }, () => ({ id: run.id, state: { type: "RUNNING" } })))
        expect(tooMany.status).toBe(422)
        expect((yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}`)).state_type).toBe("PENDING")
      }))
  })
})
