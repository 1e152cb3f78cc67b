/**
 * The crash-detection service: runs whose heartbeats stopped for the timeout become Crashed through the orchestrator —
 * with their task runs, whose concurrency slots are freed — or, asked for, retried; Cancelling ones become Cancelled.
 * First through its pass on both databases, then end to end: a real flow process killed with SIGKILL mid-run, in
 * local mode and in remote mode against a server that runs the service.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"
import { formatTimestamp, States, type Uuid } from "../../src/domain/index.js"
import * as Database from "../../src/storage/database.js"
import { ConcurrencyLimitRepository, Repositories, RunRepository } from "../../src/storage/repositories/index.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"
import { crashDetection, detectCrashesAt } from "../../services/crash-detection.js"
import { layer as supervisorLayer, supervise } from "../../services/supervisor.js"
import { onDatabase, serverLayer } from "../../src/api/server.js"
import { baseUrl, call, expectStatus } from "../api/harness.js"
import { databases, tempDir } from "../support/databases.js"
import { cleanEnv } from "../support/env.js"
import { clearDatabase } from "../support/fixtures.js"
import { flowRunCreate, insertFlow, orchestratorLayer, propose, taskRunCreate } from "../support/orchestrator.js"

const settings = { loopSeconds: 15, timeoutSeconds: 90, pendingTimeoutSeconds: 120, batchSize: 2 }

/** A flow run moved to Running (its policy given), with one task run Running under tag `db` (limit 1) and one Pending. */
const runningFlow = (policy = { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 } as Record<string, unknown>) =>
  Effect.gen(function*() {
    const o = yield* Orch.Orchestrator
    const flowId = yield* insertFlow()
    const { id } = yield* o.createFlowRun(flowRunCreate(flowId, { empirical_policy: policy as never }))
    yield* propose("flow_run", id, States.Running())
    const holding = (yield* o.createTaskRun(taskRunCreate(id, { tags: ["db"] }))).id
    expect((yield* propose("task_run", holding, States.Running())).status).toBe("ACCEPT")
    const waiting = (yield* o.createTaskRun(taskRunCreate(id))).id
    return { id, holding, waiting }
  })

const setHeartbeat = (kind: "flow_run" | "task_run", id: string, at: Date) =>
  Effect.flatMap(Database.Database, (db) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      db.dialect === "pg"
        ? sql`UPDATE ${sql(kind)} SET heartbeat_time = CAST(${formatTimestamp(at)} AS timestamptz) WHERE id = ${id}`
        : sql`UPDATE ${sql(kind)} SET heartbeat_time = ${formatTimestamp(at)} WHERE id = ${id}`))

describe.each(databases)("crash detection on $name", (db) => {
  layer(Layer.provideMerge(Repositories, orchestratorLayer(db)), { excludeTestServices: true })((it) => {
    it.effect("a run silent for the timeout is Crashed with its task runs, its slots freed; a beating one, or a recent one, is left", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const limits = yield* ConcurrencyLimitRepository
        yield* limits.upsert({ tag: "db", concurrency_limit: 2 })
        const dead = yield* runningFlow()
        expect((yield* limits.getByTag("db")).active_slots).toEqual([dead.holding])
        // (The dead run never sent a heartbeat: it counts from the time it started running.)
        const start = new Date()
        const later = new Date(start.getTime() + (settings.timeoutSeconds + 10) * 1000)
        const alive = yield* runningFlow()
        yield* setHeartbeat("flow_run", alive.id, new Date(later.getTime() - 20_000))
        yield* setHeartbeat("task_run", alive.holding, new Date(later.getTime() - 20_000))

        // Not yet: no run has been silent for 90 s.
        expect(yield* detectCrashesAt(new Date(start.getTime() + 60_000), settings)).toBe(0)
        // The dead flow run, its two task runs.
        expect(yield* detectCrashesAt(later, settings)).toBe(3)
        const runs = yield* RunRepository
        const flowRun = yield* runs.getFlowRun(dead.id)
        expect(flowRun.state).toMatchObject({ type: "CRASHED", name: "Crashed" })
        expect(flowRun.state!.message).toMatch(/^No heartbeat since .* \(more than 90 s\): the run's process is presumed dead\.$/)
        expect((yield* runs.getTaskRun(dead.holding)).state_type).toBe("CRASHED")
        expect((yield* runs.getTaskRun(dead.waiting)).state_type).toBe("CRASHED")
        expect((yield* runs.getTaskRun(dead.holding)).state!.message).toContain("Its flow run's process is presumed dead.")
        // The slot went back by the rules, and the decision is on record.
        expect((yield* limits.getByTag("db")).active_slots).not.toContain(dead.holding)
        expect((yield* runs.readDecisions("flow_run", dead.id)).at(-1)).toMatchObject({ proposed_type: "CRASHED", forced: false, status: "ACCEPT" })
        // The live run (it beat 20 s ago) is untouched, and keeps its slot.
        expect((yield* runs.getFlowRun(alive.id)).state_type).toBe("RUNNING")
        expect((yield* runs.getTaskRun(alive.holding)).state_type).toBe("RUNNING")
        expect((yield* limits.getByTag("db")).active_slots).toEqual([alive.holding])
        expect(yield* detectCrashesAt(later, settings)).toBe(0)
      }))

    it.effect("a flow run that asks for retries on Crashed is retried, its crashed task runs reset; without retries left, it stays Crashed", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        yield* (yield* ConcurrencyLimitRepository).upsert({ tag: "db", concurrency_limit: 5 })
        const retried = yield* runningFlow({ max_retries: 1, retry_delay_seconds: 0, retry_jitter_factor: 0, retry_crashed: true })
        const notAsked = yield* runningFlow({ max_retries: 1, retry_delay_seconds: 0, retry_jitter_factor: 0 })
        const later = new Date(Date.now() + 100_000)
        yield* detectCrashesAt(later, settings)
        const runs = yield* RunRepository
        expect((yield* runs.getFlowRun(retried.id)).state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" })
        expect((yield* runs.readDecisions("flow_run", retried.id)).at(-1)).toMatchObject({ proposed_type: "CRASHED", status: "REJECT", rule: "RetryCrashedFlows" })
        expect((yield* runs.getTaskRun(retried.holding)).state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" })
        expect((yield* runs.getFlowRun(notAsked.id)).state_type).toBe("CRASHED")
        expect((yield* (yield* ConcurrencyLimitRepository).getByTag("db")).active_slots).toEqual([])
        // The retry runs (Retrying) and dies again: no retries left, so it ends Crashed.
        expect((yield* propose("flow_run", retried.id, States.Running())).state).toMatchObject({ type: "RUNNING", name: "Retrying" })
        yield* detectCrashesAt(new Date(Date.now() + 200_000), settings)
        expect((yield* runs.getFlowRun(retried.id)).state_type).toBe("CRASHED")
      }))

    it.effect("a flow run claimed (Pending) and never started is Crashed after the timeout, and a late start is refused", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const o = yield* Orch.Orchestrator
        const lost = (yield* o.createFlowRun(flowRunCreate(yield* insertFlow(), { state: States.Scheduled() as never }))).id
        expect((yield* propose("flow_run", lost, States.Pending({ message: "Claimed by an agent" }))).status).toBe("ACCEPT")
        const start = new Date()
        // A claim older than the heartbeat timeout may still be starting (a cold executor on a loaded machine): it has
        // its own, longer timeout.
        expect(yield* detectCrashesAt(new Date(start.getTime() + (settings.timeoutSeconds + 10) * 1000), settings)).toBe(0)
        expect(yield* detectCrashesAt(new Date(start.getTime() + (settings.pendingTimeoutSeconds + 10) * 1000), settings)).toBe(1)
        const runs = yield* RunRepository
        const ended = yield* runs.getFlowRun(lost)
        expect(ended.state).toMatchObject({ type: "CRASHED", name: "Crashed" })
        expect(ended.state!.message).toMatch(/^Pending since .* \(more than 120 s\) and never started: the process that was to run it is presumed gone\.$/)
        // An executor that starts after all is told no: the run is not executed behind the crash.
        expect((yield* propose("flow_run", lost, States.Running())).status).not.toBe("ACCEPT")
        expect((yield* runs.getFlowRun(lost)).state_type).toBe("CRASHED")
      }))

    it.effect("a Cancelling run whose process is gone becomes Cancelled with its task runs; a task run left Running under an ended flow run becomes Crashed", () =>
      Effect.gen(function*() {
        yield* clearDatabase
        const cancelling = yield* runningFlow()
        yield* propose("flow_run", cancelling.id, States.Cancelling())
        const orphan = yield* runningFlow()
        yield* propose("flow_run", orphan.id, States.Crashed(), true)
        const later = new Date(Date.now() + 100_000)
        yield* detectCrashesAt(later, settings)
        const runs = yield* RunRepository
        expect((yield* runs.getFlowRun(cancelling.id)).state).toMatchObject({ type: "CANCELLED", name: "Cancelled" })
        expect((yield* runs.getTaskRun(cancelling.holding)).state_type).toBe("CANCELLED")
        expect((yield* runs.getTaskRun(cancelling.waiting)).state_type).toBe("CANCELLED")
        expect((yield* runs.getTaskRun(orphan.holding)).state_type).toBe("CRASHED")
        // The orphan's Pending task run shows no sign of life only by its state, which is not Running: it is left.
        expect((yield* runs.getTaskRun(orphan.waiting)).state_type).toBe("PENDING")
      }))
  })
})

/**
 * Runs the slot-holder script on the SQLite file in `home` until it has held its slot for a few heartbeats (every
 * 0.5 s), then kills it with SIGKILL.
 */
const runAndKill = (home: string, retry: boolean, apiUrl?: string) =>
  Effect.promise(() => new Promise<void>((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "test/fixtures/slot-holder-script.ts", retry ? "retry" : "no-retry"], {
      env: cleanEnv({ ORION_HOME: home, ORION_HEARTBEAT_INTERVAL: "0.5", ...(apiUrl === undefined ? {} : { ORION_API_URL: apiUrl }) }),
      stdio: ["ignore", "pipe", "inherit"]
    })
    const printed: Array<string> = []
    readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
      printed.push(line)
      if (line === "holding the slot") setTimeout(() => proc.kill("SIGKILL"), 1500)
    })
    proc.on("exit", (_code, signal) =>
      signal === "SIGKILL" ? resolve() : reject(new Error(`the script ended without being killed (${signal}): ${printed.join("\n")}`)))
  }))

/** Polls `read` until `done` holds of what it answers (at most ~60 s). */
const until = <A, R>(read: Effect.Effect<A, never, R>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 600; i++) {
      const a = yield* read
      if (done(a)) return a
      yield* Effect.sleep("100 millis")
    }
    throw new Error("the condition never held")
  })

/** Polls until the flow run's state is one of `types` (at most ~60 s). */
const untilFlowRunIn = (types: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (let i = 0; i < 600; i++) {
      const rows = (yield* sql`SELECT id, state_type, state_name FROM flow_run`) as unknown as Array<{ id: Uuid; state_type: string; state_name: string }>
      if (rows.length === 1 && types.includes(rows[0]!.state_type)) return rows[0]!
      yield* Effect.sleep("100 millis")
    }
    throw new Error(`the flow run never reached ${types.join(" or ")}`)
  })

describe("a flow process killed with SIGKILL (local mode, SQLite)", () => {
  for (const retry of [false, true]) {
    it.scopedLive(retry ? "is retried when its flow asks for retries on Crashed, its slot freed" : "ends Crashed after the timeout, its task run too, its slot freed", () =>
      Effect.gen(function*() {
        const home = tempDir("orion-crash-")
        const context = yield* Layer.build(Layer.mergeAll(Orch.layer(), Repositories).pipe(
          Layer.provideMerge(EventBus.layer),
          Layer.provideMerge(Database.layerFromUrl(path.join(home, "orion.db")))
        ))
        yield* Effect.gen(function*() {
          const limits = yield* ConcurrencyLimitRepository
          yield* limits.upsert({ tag: "slot", concurrency_limit: 1 })
          yield* runAndKill(home, retry)
          const sql = yield* SqlClient.SqlClient
          expect((yield* limits.getByTag("slot")).active_slots).toHaveLength(1)
          expect(((yield* sql`SELECT state_type FROM task_run`) as Array<any>).map((r) => r.state_type)).toEqual(["RUNNING"])

          // The service under its supervisor, as `orion start` runs it, with a short timeout (6 heartbeat intervals).
          const timeoutSeconds = 3
          yield* supervise([crashDetection({ loopSeconds: 0.5, timeoutSeconds, pendingTimeoutSeconds: timeoutSeconds, batchSize: 100 })])
          const ended = yield* untilFlowRunIn(retry ? ["SCHEDULED"] : ["CRASHED"])
          const runs = yield* RunRepository
          const flowRun = yield* runs.getFlowRun(ended.id)
          const [task] = (yield* sql`SELECT id FROM task_run`) as Array<any>
          const taskRun = yield* runs.getTaskRun(task.id)
          if (retry) {
            expect(flowRun.state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" })
            expect(taskRun.state).toMatchObject({ type: "SCHEDULED", name: "AwaitingRetry" })
          } else {
            expect(flowRun.state).toMatchObject({ type: "CRASHED", name: "Crashed" })
            expect(taskRun.state).toMatchObject({ type: "CRASHED", name: "Crashed" })
          }
          expect((yield* limits.getByTag("slot")).active_slots).toEqual([])
          // It was not presumed dead before the timeout: its last heartbeat came at least that long before.
          const decided = (yield* runs.readDecisions("flow_run", ended.id)).at(-1)!
          expect(decided.proposed_type).toBe("CRASHED")
          expect(flowRun.heartbeat_time).not.toBeNull()
          expect(decided.timestamp.getTime() - flowRun.heartbeat_time!.getTime()).toBeGreaterThanOrEqual(timeoutSeconds * 1000)
        }).pipe(Effect.provide(context))
      }), 120_000)
  }
})

describe("a remote-mode flow process killed with SIGKILL, crash detection running in the server", () => {
  const sqlite = databases.find((d) => d.name === "sqlite")!
  const server = onDatabase(
    serverLayer({ host: "127.0.0.1", port: 0, dataDir: tempDir("orion-data-"), services: { enabled: true, running: ["crash-detection"] } })
      .pipe(Layer.provide(supervisorLayer([crashDetection({ loopSeconds: 0.5, timeoutSeconds: 3, pendingTimeoutSeconds: 3, batchSize: 100 })]))),
    sqlite.layer()
  )
  layer(server, { excludeTestServices: true })((it) => {
    it.effect("ends Crashed, its slot freed, and the service shows its passes", () =>
      Effect.gen(function*() {
        yield* expectStatus(201, "POST", "/api/concurrency_limits/", { tag: "slot", concurrency_limit: 1 })
        yield* runAndKill(tempDir("orion-home-"), false, `${yield* baseUrl}/api`)
        const [flowRun] = yield* until(
          Effect.map(call("POST", "/api/flow_runs/filter", {}), (r) => r.json as Array<any>),
          (runs) => runs.length === 1 && runs[0].state_type === "CRASHED"
        )
        expect(flowRun.state.message).toContain("presumed dead")
        const [taskRun] = yield* expectStatus(200, "POST", "/api/task_runs/filter", {})
        expect(taskRun.state.name).toBe("Crashed")
        const [limit] = yield* expectStatus(200, "POST", "/api/concurrency_limits/filter", {})
        expect(limit.active_slots).toEqual([])
        const [status] = yield* expectStatus(200, "GET", "/api/admin/services")
        expect(status).toMatchObject({ name: "crash-detection", state: "running", restarts: 0, last_error: null })
        expect(status.last_loop).not.toBeNull()
      }), 120_000)
  })
})
