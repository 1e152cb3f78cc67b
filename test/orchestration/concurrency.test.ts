/** Many proposals at once against one run, and two orchestrators sharing one database: one consistent history. */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer } from "effect"
import { States, type StateCreate, type Uuid } from "../../src/domain/index.js"
import * as Database from "../../src/storage/database.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"
import { databases } from "../support/databases.js"
import { flowRunCreate, insertFlow, newFlowRun, newTaskRun, orchestratorLayer, propose } from "../support/orchestrator.js"

const proposals: ReadonlyArray<() => StateCreate> = [
  () => States.Running(), () => States.Completed(), () => States.Failed(), () => States.Pending(),
  () => States.Scheduled({ scheduledTime: new Date(0) }), () => States.Cancelling(), () => States.Cancelled()
]

describe.each(databases)("concurrency on $name", (db) => {
  it.live("200 concurrent proposals against one run end in one consistent state history", () =>
    Effect.gen(function*() {
      const id = yield* newTaskRun()
      const results = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => proposals[i % proposals.length]!),
        (make) => propose("task_run", id, make()),
        { concurrency: "unbounded" }
      )
      const sql = yield* SqlClient.SqlClient
      const history = yield* sql<{ id: string; type: string }>`SELECT id, type FROM task_run_state WHERE task_run_id = ${id} ORDER BY timestamp`
      const stored = results.filter((r) => r.state !== null)
      expect(history.length).toBe(1 + stored.length)
      expect(new Set(history.map((h) => h.id)).size).toBe(history.length)
      expect(new Set(stored.map((r) => r.state!.id))).toEqual(new Set(history.slice(1).map((h) => h.id)))
      const decisions = yield* sql<{ from_type: string | null; state_id: string | null }>`SELECT from_type, state_id FROM decision WHERE run_id = ${id} ORDER BY id`
      expect(decisions.length).toBe(201)
      let current: string | null = null
      for (const d of decisions) {
        expect(d.from_type).toBe(current === null ? null : history.find((h) => h.id === current)!.type)
        if (d.state_id !== null) current = d.state_id
      }
      const [run] = yield* sql<{ state_id: string; state_type: string }>`SELECT state_id, state_type FROM task_run WHERE id = ${id}`
      expect(run).toEqual({ state_id: history.at(-1)!.id, state_type: history.at(-1)!.type })
    }).pipe(Effect.provide(orchestratorLayer(db))))

  it.live("a proposal made while another transaction is open is applied in full (on SQLite, once that one ends)", () =>
    Effect.gen(function*() {
      const id = yield* newTaskRun()
      const sql = yield* SqlClient.SqlClient
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(sql.withTransaction(Effect.zipRight(sql`SELECT 1`, Deferred.await(release))))
      yield* Effect.sleep("20 millis")
      const proposal = yield* Effect.fork(propose("task_run", id, States.Running()))
      yield* Effect.sleep("50 millis")
      // SQLite has one connection, held by that transaction; PostgreSQL's pool gives the orchestrator another
      if (db.name === "sqlite") expect(proposal.unsafePoll()).toBeNull()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect((yield* Fiber.join(proposal)).status).toBe("ACCEPT")
      const [row] = yield* sql<{ state_type: string }>`SELECT state_type FROM task_run WHERE id = ${id}`
      const states = yield* sql<{ type: string }>`SELECT type FROM task_run_state WHERE task_run_id = ${id} ORDER BY timestamp`
      expect(row!.state_type).toBe("RUNNING")
      expect(states.map((s) => s.type)).toEqual(["PENDING", "RUNNING"])
    }).pipe(Effect.provide(orchestratorLayer(db))))

  it.live("200 concurrent Running proposals on one flow run: exactly one is accepted", () =>
    Effect.gen(function*() {
      const id = yield* newFlowRun()
      const results = yield* Effect.forEach(Array.from({ length: 200 }), () => propose("flow_run", id, States.Running()), { concurrency: "unbounded" })
      expect(results.filter((r) => r.status === "ACCEPT").length).toBe(1)
      expect(results.filter((r) => r.status === "ABORT").length).toBe(199)
    }).pipe(Effect.provide(orchestratorLayer(db))))
})

// Two writers on one SQLite file in one process would block each other's synchronous busy-waits, so this models
// two processes on PostgreSQL, where each orchestrator has its own connection pool.
describe.each(databases.filter((d) => d.name === "pg"))("two orchestrators sharing one $name database", (db) => {
  it.live("can never both move a run: every race has one winner and one history", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url, lifecycle } = db.fresh()
      yield* Layer.build(lifecycle)
      const open = () => Layer.build(Orch.layer().pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(Database.layerFromUrl(url))))
      const a = yield* open()
      const b = yield* open()
      const [oa, ob] = [Context.get(a, Orch.Orchestrator), Context.get(b, Orch.Orchestrator)]
      const flowId = yield* insertFlow().pipe(Effect.provide(a))
      for (let round = 0; round < 5; round++) {
        const { id } = yield* oa.createFlowRun(flowRunCreate(flowId))
        // both learn the run's current state first, so each one's in-memory view is about to be stale
        yield* ob.propose({ kind: "flow_run", id }, States.Pending())
        const results = yield* Effect.all([
          ...Array.from({ length: 20 }, () => oa.propose({ kind: "flow_run", id: id as Uuid }, States.Running())),
          ...Array.from({ length: 20 }, () => ob.propose({ kind: "flow_run", id: id as Uuid }, States.Running()))
        ], { concurrency: "unbounded" })
        expect(results.filter((r) => r.status === "ACCEPT").length).toBe(1)
        const sql = Context.get(a, SqlClient.SqlClient)
        const names = yield* sql<{ name: string }>`SELECT name FROM flow_run_state WHERE flow_run_id = ${id} ORDER BY timestamp`
        expect(names.map((n) => n.name)).toEqual(["Pending", "Running"])
      }
    })))
})
