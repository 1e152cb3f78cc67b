/** Worked sequences of spec §3.8 and §11 through the real orchestrator: retries, caching, schedules, limits, subflows. */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Queue, TestClock } from "effect"
import { formatTimestamp, newUuid, States, type Uuid } from "../../src/domain/index.js"
import { ALL, CorePolicies, CoreTaskPolicy, only, rule } from "../../src/orchestration/index.js"
import { EventBus } from "../../runtime/event-bus.js"
import { Orchestrator } from "../../runtime/orchestrator.js"
import { databases } from "../support/databases.js"
import { flowRunCreate, insertFlow, newFlowRun, newTaskRun, orchestratorLayer, propose, taskRunCreate } from "../support/orchestrator.js"

const stateNames = (kind: "flow_run" | "task_run", id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ name: string }>`SELECT name FROM ${sql(`${kind}_state`)} WHERE ${sql(`${kind}_id`)} = ${id} ORDER BY timestamp`, (rs) => rs.map((r) => r.name)))

const runRow = (kind: "flow_run" | "task_run", id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ run_count: number; state_name: string; state_type: string; start_time: unknown; end_time: unknown; total_run_time: number }>`SELECT * FROM ${sql(kind)} WHERE id = ${id}`, (rs) => rs[0]!))

const addLimit = (tag: string, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const now = formatTimestamp(new Date())
    return sql`INSERT INTO concurrency_limit (id, created, updated, tag, concurrency_limit, active_slots) VALUES (${newUuid()}, ${now}, ${now}, ${tag}, ${limit}, '[]')`
  })

describe.each(databases)("worked sequences on $name", (db) => {
  const provide = <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.provide(e, orchestratorLayer(db))

  it.effect("a task with retries=2 runs three times: Running, Retrying, Retrying, then Failed is accepted", () =>
    provide(Effect.gen(function*() {
      const id = yield* newTaskRun({ policy: { max_retries: 2, retry_delay_seconds: [10, 20], retry_jitter_factor: 0 } })
      expect((yield* propose("task_run", id, States.Running())).state?.name).toBe("Running")
      const first = yield* propose("task_run", id, States.Failed({ message: "boom" }))
      expect(first.status).toBe("REJECT")
      expect(first.state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry", message: "boom" })
      const wait = yield* propose("task_run", id, States.Running())
      expect(wait.status).toBe("WAIT")
      expect((wait.details as { delay_seconds: number }).delay_seconds).toBeCloseTo(10, 0)
      yield* TestClock.adjust("10 seconds")
      expect((yield* propose("task_run", id, States.Running())).state?.name).toBe("Retrying")
      const second = yield* propose("task_run", id, States.Failed())
      expect(second.status).toBe("REJECT")
      expect((second.state!.state_details.scheduled_time!.getTime() - second.state!.timestamp.getTime()) / 1000).toBeCloseTo(20, 1)
      yield* TestClock.adjust("20 seconds")
      expect((yield* propose("task_run", id, States.Running())).state?.name).toBe("Retrying")
      const last = yield* propose("task_run", id, States.Failed())
      expect(last.status).toBe("ACCEPT")
      expect((yield* runRow("task_run", id)).run_count).toBe(3)
      expect(yield* stateNames("task_run", id)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Failed"])
    })))

  it.effect("exponential backoff with jitter stays within its bounds", () =>
    provide(Effect.gen(function*() {
      const id = yield* newTaskRun({ policy: { max_retries: 3, retry_delay_seconds: { exponential_backoff: 4 }, retry_jitter_factor: 0.5 } })
      const delays: Array<number> = []
      for (let i = 0; i < 3; i++) {
        yield* propose("task_run", id, States.Running())
        const r = yield* propose("task_run", id, States.Failed())
        const d = (r.state!.state_details.scheduled_time!.getTime() - r.state!.timestamp.getTime()) / 1000
        delays.push(d)
        yield* TestClock.adjust("1 minute")
      }
      const bases = [4, 8, 16]
      delays.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(bases[i]! * 0.5)
        expect(d).toBeLessThanOrEqual(bases[i]! * 1.5)
      })
    })))

  it.effect("a cache hit rejects Running with a Cached copy; the entry expires in time and when its run leaves its terminal state", () =>
    provide(Effect.gen(function*() {
      const writer = yield* newTaskRun()
      yield* propose("task_run", writer, States.Running())
      const done = yield* propose("task_run", writer, States.Completed({
        data: { encoding: "json", blob: "42" },
        details: { cache_key: "K", cache_expiration: new Date(Date.now() + 60_000) }
      }))
      expect(done.status).toBe("ACCEPT")
      const reader = yield* newTaskRun()
      const hit = yield* propose("task_run", reader, States.Running({ details: { cache_key: "K" } }))
      expect(hit.status).toBe("REJECT")
      expect(hit.state).toMatchObject({ type: "COMPLETED", name: "Cached", data: { encoding: "json", blob: "42" } })
      expect(hit.state!.state_details.task_run_id).toBe(reader)
      expect((hit.details as { reason: string }).reason).toBe("Retrieved state from cache")
      // leaving the terminal state (forced) expires the writer's entries
      yield* propose("task_run", writer, States.Pending(), true)
      const miss = yield* propose("task_run", yield* newTaskRun(), States.Running({ details: { cache_key: "K" } }))
      expect(miss.status).toBe("ACCEPT")
      // a fresh entry with an expiration: valid until then, not after
      const w2 = yield* newTaskRun()
      yield* propose("task_run", w2, States.Running())
      yield* propose("task_run", w2, States.Completed({ details: { cache_key: "K2", cache_expiration: new Date(Date.now() + 5_000) } }))
      expect((yield* propose("task_run", yield* newTaskRun(), States.Running({ details: { cache_key: "K2" } }))).status).toBe("REJECT")
      yield* TestClock.setTime(Date.now() + 6_000)
      expect((yield* propose("task_run", yield* newTaskRun(), States.Running({ details: { cache_key: "K2" } }))).status).toBe("ACCEPT")
    })))

  it.effect("a scheduled run waits for its time: Pending is delayed, then accepted", () =>
    provide(Effect.gen(function*() {
      const id = yield* newFlowRun({ state: States.Scheduled({ scheduledTime: new Date((yield* Clock.currentTimeMillis) + 30_000) }) })
      const wait = yield* propose("flow_run", id, States.Pending())
      expect(wait.status).toBe("WAIT")
      expect((wait.details as { delay_seconds: number }).delay_seconds).toBeCloseTo(30, 0)
      yield* TestClock.adjust("30 seconds")
      expect((yield* propose("flow_run", id, States.Pending())).status).toBe("ACCEPT")
      expect((yield* propose("flow_run", id, States.Running())).status).toBe("ACCEPT")
      expect((yield* propose("flow_run", id, States.Completed())).status).toBe("ACCEPT")
      const row = yield* runRow("flow_run", id)
      expect(row.run_count).toBe(1)
      expect(row.start_time).not.toBeNull()
      expect(row.end_time).not.toBeNull()
    })))

  it.effect("a failed flow with retries waits in AwaitingRetry and its failed task runs are reset to run again", () =>
    provide(Effect.gen(function*() {
      const o = yield* Orchestrator
      const flowRun = yield* newFlowRun({ empirical_policy: { max_retries: 1, retry_delay_seconds: 0, retry_jitter_factor: 0 } })
      yield* propose("flow_run", flowRun, States.Running())
      const { id: failedTask } = yield* o.createTaskRun(taskRunCreate(flowRun))
      const { id: okTask } = yield* o.createTaskRun(taskRunCreate(flowRun))
      yield* propose("task_run", failedTask, States.Running())
      yield* propose("task_run", failedTask, States.Failed())
      yield* propose("task_run", okTask, States.Running())
      yield* propose("task_run", okTask, States.Completed())
      const r = yield* propose("flow_run", flowRun, States.Failed())
      expect(r.status).toBe("REJECT")
      expect(r.state?.name).toBe("AwaitingRetry")
      expect(yield* runRow("task_run", failedTask)).toMatchObject({ state_name: "AwaitingRetry", run_count: 0 })
      expect((yield* runRow("task_run", okTask)).state_name).toBe("Completed")
      expect((yield* propose("flow_run", flowRun, States.Running())).state?.name).toBe("Retrying")
      expect((yield* propose("task_run", failedTask, States.Running())).state?.name).toBe("Running")
      expect((yield* propose("task_run", okTask, States.Running())).status).toBe("ABORT")
    })))

  it.effect("tag concurrency limits lease slots on Running and release them on leaving it", () =>
    provide(Effect.gen(function*() {
      yield* addLimit("db", 1)
      yield* addLimit("never", 0)
      const a = yield* newTaskRun({ tags: ["db"] })
      const b = yield* newTaskRun({ tags: ["db", "other"] })
      expect((yield* propose("task_run", a, States.Running())).status).toBe("ACCEPT")
      const waiting = yield* propose("task_run", b, States.Running())
      expect(waiting).toMatchObject({ status: "WAIT", details: { delay_seconds: 30 } })
      yield* propose("task_run", a, States.Completed())
      expect((yield* propose("task_run", b, States.Running())).status).toBe("ACCEPT")
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ active_slots: unknown }>`SELECT active_slots FROM concurrency_limit WHERE tag = 'db'`
      const slots = typeof row!.active_slots === "string" ? JSON.parse(row!.active_slots) : row!.active_slots
      expect(slots).toEqual([b])
      // a forced move out of Running still releases
      yield* propose("task_run", b, States.Crashed(), true)
      const [after] = yield* sql<{ active_slots: unknown }>`SELECT active_slots FROM concurrency_limit WHERE tag = 'db'`
      expect(typeof after!.active_slots === "string" ? JSON.parse(after!.active_slots) : after!.active_slots).toEqual([])
      const blocked = yield* propose("task_run", yield* newTaskRun({ tags: ["never"] }), States.Running())
      expect(blocked.status).toBe("ABORT")
    })))

  it.effect("a subflow's states are mirrored onto its placeholder task run", () =>
    provide(Effect.gen(function*() {
      const o = yield* Orchestrator
      const parent = yield* newFlowRun()
      const { id: placeholder } = yield* o.createTaskRun(taskRunCreate(parent, { task_key: "child-flow" }))
      const child = yield* newFlowRun({ parent_task_run_id: placeholder as Uuid })
      const running = yield* propose("flow_run", child, States.Running())
      expect(running.state?.state_details.task_run_id).toBe(placeholder)
      yield* propose("flow_run", child, States.Completed())
      expect(yield* stateNames("task_run", placeholder)).toEqual(["Pending", "Pending", "Running", "Completed"])
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ state_details: unknown }>`SELECT state_details FROM task_run_state WHERE task_run_id = ${placeholder} ORDER BY timestamp DESC LIMIT 1`
      const details = typeof rows[0]!.state_details === "string" ? JSON.parse(rows[0]!.state_details) : rows[0]!.state_details
      expect(details.child_flow_run_id).toBe(child)
    })))

  it.effect("the run's row follows every transition column by column, including columns set back to null", () =>
    provide(Effect.gen(function*() {
      const t0 = yield* Clock.currentTimeMillis
      const id = yield* newFlowRun({ state: States.Scheduled({ scheduledTime: new Date(t0 + 30_000) }) })
      const at = (seconds: number | null) => (seconds === null ? null : t0 + seconds * 1000)
      const time = (v: unknown) => (v === null ? null : new Date(v as string).getTime())
      const expectRow = (type: string, run_count: number, expected: number | null, next: number | null, start: number | null, end: number | null, total: number) =>
        Effect.map(runRow("flow_run", id), (row) => {
          const r = row as unknown as Record<string, unknown>
          expect({
            type: r.state_type, run_count: Number(r.run_count), expected: time(r.expected_start_time), next: time(r.next_scheduled_start_time),
            start: time(r.start_time), end: time(r.end_time), total: Number(r.total_run_time)
          }).toEqual({ type, run_count, expected: at(expected), next: at(next), start: at(start), end: at(end), total })
        })
      yield* expectRow("SCHEDULED", 0, 30, 30, null, null, 0)
      yield* TestClock.adjust("30 seconds")
      yield* propose("flow_run", id, States.Pending())
      yield* expectRow("PENDING", 0, 30, null, null, null, 0)
      yield* TestClock.adjust("2 seconds")
      yield* propose("flow_run", id, States.Running())
      yield* expectRow("RUNNING", 1, 30, null, 32, null, 0)
      yield* TestClock.adjust("3 seconds")
      yield* propose("flow_run", id, States.Completed())
      yield* expectRow("COMPLETED", 1, 30, null, 32, 35, 3)
      yield* TestClock.adjust("1 second")
      yield* propose("flow_run", id, States.Running(), true)
      yield* expectRow("RUNNING", 2, 30, null, 32, null, 3)
      yield* TestClock.adjust("4 seconds")
      yield* propose("flow_run", id, States.Failed())
      yield* expectRow("FAILED", 2, 30, null, 32, 40, 7)
    })))

  it.effect("force skips the core rules but keeps the bookkeeping", () =>
    provide(Effect.gen(function*() {
      const id = yield* newTaskRun()
      yield* propose("task_run", id, States.Running())
      yield* propose("task_run", id, States.Completed())
      expect((yield* propose("task_run", id, States.Running())).status).toBe("ABORT")
      const forced = yield* propose("task_run", id, States.Running(), true)
      expect(forced.status).toBe("ACCEPT")
      expect(yield* runRow("task_run", id)).toMatchObject({ run_count: 2, state_type: "RUNNING", end_time: null })
    })))

  it.effect("every decision is recorded and every stored state is published as an event with increasing ids", () =>
    provide(Effect.gen(function*() {
      const bus = yield* EventBus
      const sub = yield* bus.subscribe
      const id = yield* newFlowRun()
      yield* propose("flow_run", id, States.Running())
      yield* propose("flow_run", id, States.Running())
      yield* propose("flow_run", id, States.Completed())
      const events = [...(yield* Queue.takeAll(sub))]
      expect(events.map((e) => e.event)).toEqual(["flow_run.created", "flow_run.state_changed", "flow_run.state_changed"])
      expect(events.every((e, i) => i === 0 || e.id > events[i - 1]!.id)).toBe(true)
      const sql = yield* SqlClient.SqlClient
      const decisions = yield* sql<{ status: string; rule: string | null }>`SELECT status, rule FROM decision WHERE run_id = ${id} ORDER BY id`
      expect(decisions).toEqual([
        { status: "ACCEPT", rule: null },
        { status: "ACCEPT", rule: null },
        { status: "ABORT", rule: "PreventRedundantTransitions" },
        { status: "ACCEPT", rule: null }
      ])
    }).pipe(Effect.scoped)))

  it.effect("unknown runs and flows are typed not-found errors, and nothing is written", () =>
    provide(Effect.gen(function*() {
      const o = yield* Orchestrator
      const missing = yield* Effect.flip(propose("flow_run", newUuid(), States.Running()))
      expect(missing).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
      const noFlow = yield* Effect.flip(o.createFlowRun(flowRunCreate(newUuid())))
      expect(noFlow).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow" })
      const noFlowRun = yield* Effect.flip(o.createTaskRun(taskRunCreate(newUuid())))
      expect(noFlowRun).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
      const sql = yield* SqlClient.SqlClient
      const [n] = yield* sql<{ n: number }>`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM flow_run`
      expect(Number(n!.n)).toBe(0)
    })))

  it.effect("creates are idempotent on the idempotency key and on the task identity", () =>
    provide(Effect.gen(function*() {
      const o = yield* Orchestrator
      const flow = yield* insertFlow()
      const a = yield* o.createFlowRun(flowRunCreate(flow, { idempotency_key: "k" }))
      yield* propose("flow_run", a.id, States.Running())
      const b = yield* o.createFlowRun(flowRunCreate(flow, { idempotency_key: "k" }))
      expect(b).toMatchObject({ id: a.id, created: false })
      expect(b.state?.type).toBe("RUNNING")
      const t1 = yield* o.createTaskRun(taskRunCreate(a.id, { task_key: "t", dynamic_key: "0" }))
      const t2 = yield* o.createTaskRun(taskRunCreate(a.id, { task_key: "t", dynamic_key: "0" }))
      expect(t2).toMatchObject({ id: t1.id, created: false })
      expect(yield* stateNames("task_run", t1.id)).toEqual(["Pending"])
    })))
  it.effect("create with start: Pending then the start proposal, through the policy, in one request", () =>
    provide(Effect.gen(function*() {
      const o = yield* Orchestrator
      const flowRun = yield* newFlowRun()
      yield* propose("flow_run", flowRun, States.Running())
      const t = yield* o.createTaskRun(taskRunCreate(flowRun, { task_key: "s", dynamic_key: "0" }), { start: States.Running() })
      expect(t).toMatchObject({ created: true, started: { status: "ACCEPT", state: { type: "RUNNING" } }, state: { type: "RUNNING" } })
      expect(yield* stateNames("task_run", t.id)).toEqual(["Pending", "Running"])
      expect((yield* runRow("task_run", t.id)).run_count).toBe(1)
      const sql = yield* SqlClient.SqlClient
      const decisions = yield* sql<{ proposed_type: string; status: string }>`SELECT proposed_type, status FROM decision WHERE run_id = ${t.id} ORDER BY timestamp, id`
      expect(decisions.map((d) => `${d.proposed_type} ${d.status}`)).toEqual(["PENDING ACCEPT", "RUNNING ACCEPT"])
      // replayed (a retried request): the run is found as it is, and not started again
      const again = yield* o.createTaskRun(taskRunCreate(flowRun, { task_key: "s", dynamic_key: "0" }), { start: States.Running() })
      expect(again).toMatchObject({ id: t.id, created: false, state: { type: "RUNNING" } })
      expect(again.started).toBeUndefined()
      expect(yield* stateNames("task_run", t.id)).toEqual(["Pending", "Running"])
    })))

  it.effect("create with start: a rule can still reject the start (a cached result is adopted, not run)", () =>
    provide(Effect.gen(function*() {
      const o = yield* Orchestrator
      const flowRun = yield* newFlowRun()
      yield* propose("flow_run", flowRun, States.Running())
      const first = yield* o.createTaskRun(taskRunCreate(flowRun, { task_key: "c", dynamic_key: "0" }), { start: States.Running({ details: { cache_key: "k-start" } }) })
      yield* propose("task_run", first.id, States.Completed({ details: { cache_key: "k-start", cache_expiration: null } }))
      const second = yield* o.createTaskRun(taskRunCreate(flowRun, { task_key: "c", dynamic_key: "1" }), { start: States.Running({ details: { cache_key: "k-start" } }) })
      expect(second.started).toMatchObject({ status: "REJECT", state: { type: "COMPLETED", name: "Cached" } })
      expect(yield* stateNames("task_run", second.id)).toEqual(["Pending", "Cached"])
    })))
})

describe.each(databases)("custom policies on $name", (db) => {
  const Freeze = rule({
    name: "FreezeTaggedRuns",
    from: ALL,
    to: only("RUNNING"),
    before: (ctx) => {
      if (ctx.run.tags.includes("frozen")) ctx.reject(States.Scheduled({ scheduledTime: new Date(ctx.now.getTime() + 60_000), message: "frozen" }), "Runs tagged 'frozen' wait a minute")
    }
  })
  const policies = { ...CorePolicies, task_run: { ...CoreTaskPolicy, rules: [Freeze, ...CoreTaskPolicy.rules] } }

  it.effect("a rule passed in takes part like the core ones and is named in the decision", () =>
    Effect.gen(function*() {
      const frozen = yield* newTaskRun({ tags: ["frozen"] })
      const r = yield* propose("task_run", frozen, States.Running())
      expect(r).toMatchObject({ status: "REJECT", state: { type: "SCHEDULED", message: "frozen" }, details: { reason: "Runs tagged 'frozen' wait a minute" } })
      expect((yield* propose("task_run", yield* newTaskRun(), States.Running())).status).toBe("ACCEPT")
      const sql = yield* SqlClient.SqlClient
      const [d] = yield* sql<{ rule: string }>`SELECT rule FROM decision WHERE run_id = ${frozen} AND status = 'REJECT'`
      expect(d!.rule).toBe("FreezeTaggedRuns")
    }).pipe(Effect.provide(orchestratorLayer(db, { policies }))))
})

describe.each(databases)("a rule that waits, on $name", (db) => {
  const seen: Array<string> = []
  // A hook that has to wait (a sleep, as a query to a slow service would): SQLite's synchronous path cannot run it,
  // so such a batch goes through Effects — same decisions, same transaction.
  const Patient = rule({
    name: "PatientRule",
    from: ALL,
    to: only("RUNNING"),
    before: (ctx) => Effect.zipRight(Effect.sleep("5 millis"), Effect.sync(() => seen.push(ctx.run.id)))
  })
  const policies = { ...CorePolicies, task_run: { ...CoreTaskPolicy, rules: [Patient, ...CoreTaskPolicy.rules] } }

  it.live("takes part in the decision like any rule, for a proposal and for a run created and started together", () =>
    Effect.gen(function*() {
      const id = yield* newTaskRun()
      const r = yield* propose("task_run", id, States.Running())
      expect(r).toMatchObject({ status: "ACCEPT", state: { type: "RUNNING" } })
      const o = yield* Orchestrator
      const flowRunId = yield* newFlowRun()
      const created = yield* o.createTaskRun(taskRunCreate(flowRunId), { start: States.Running() })
      expect(created.started).toMatchObject({ status: "ACCEPT", state: { type: "RUNNING" } })
      expect(seen).toEqual([id, created.id])
      expect(yield* stateNames("task_run", created.id)).toEqual(["Pending", "Running"])
    }).pipe(Effect.provide(orchestratorLayer(db, { policies }))))
})

