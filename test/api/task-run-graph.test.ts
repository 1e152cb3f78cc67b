/** `GET /api/flow_runs/{id}/task_run_graph`: the task graph column by column with upstream runs as indices, on SQLite and PostgreSQL. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { newUuid } from "../../src/domain/index.js"
import { databases } from "../support/databases.js"
import { apiServer, call, expectStatus, unique } from "./harness.js"

describe.each(databases)("task-run graph on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("answers the same nodes and edges as /graph, with names and state types, upstream runs as indices", () =>
      Effect.gen(function*() {
        const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("flow") })
        const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        const other = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
        const elsewhere = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: other.id, task_key: "x", dynamic_key: "0" })
        const a = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: run.id, task_key: "a", dynamic_key: "0", name: "extract" })
        const b = yield* expectStatus(201, "POST", "/api/task_runs/", { flow_run_id: run.id, task_key: "b", dynamic_key: "0", name: "transform" })
        const c = yield* expectStatus(201, "POST", "/api/task_runs/", {
          flow_run_id: run.id, task_key: "c", dynamic_key: "0", name: "load",
          task_inputs: {
            x: [{ input_type: "task_run", id: a.id }, { input_type: "parameter", name: "n" }],
            y: [{ input_type: "task_run", id: b.id }, { input_type: "task_run", id: a.id }],
            z: [{ input_type: "task_run", id: elsewhere.id }]
          }
        })
        yield* expectStatus(201, "POST", `/api/task_runs/${a.id}/set_state`, { state: { type: "RUNNING" } })

        const graph = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/task_run_graph`)
        expect(Object.keys(graph).sort()).toEqual(["id", "name", "state_type", "upstream"])
        expect([...graph.id].sort()).toEqual([a.id, b.id, c.id].sort())
        const at = (id: string) => graph.id.indexOf(id)
        expect(graph.name[at(c.id)]).toBe("load")
        expect(graph.state_type[at(a.id)]).toBe("RUNNING")
        expect(graph.state_type[at(b.id)]).toBe("PENDING")
        expect([...graph.upstream[at(c.id)]].sort()).toEqual([at(a.id), at(b.id)].sort())
        expect(graph.upstream[at(a.id)]).toEqual([])

        // the same edges as the original's /graph, within this flow run
        const whole = yield* expectStatus(200, "GET", `/api/flow_runs/${run.id}/graph`)
        for (const node of whole) {
          const mine = graph.upstream[at(node.id)].map((i: number) => graph.id[i]).sort()
          expect(mine).toEqual(node.upstream_dependencies.map((u: any) => u.id).filter((id: string) => id !== elsewhere.id).sort())
        }
        expect(yield* expectStatus(200, "GET", `/api/flow_runs/${other.id}/task_run_graph`)).toMatchObject({ id: [elsewhere.id], upstream: [[]] })
      }))

    it.effect("an unknown flow run is a 404 naming it; a malformed id is a 422", () =>
      Effect.gen(function*() {
        const missing = newUuid()
        const reply = yield* call("GET", `/api/flow_runs/${missing}/task_run_graph`)
        expect(reply.status).toBe(404)
        expect(reply.text).toContain(missing)
        expect((yield* call("GET", "/api/flow_runs/not-a-uuid/task_run_graph")).status).toBe(422)
      }))
  })
})
