/**
 * The remote OrionClient over real HTTP on 127.0.0.1, on SQLite and PostgreSQL: every method, typed not-founds,
 * refusals that are not retried, retries while the server is down, and writes whose answers were lost applied once.
 */
import { FetchHttpClient, HttpApiClient } from "@effect/platform"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Fiber, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { OrionApi } from "../../src/api/api.js"
import { OrionClient } from "../../src/client/orion-client.js"
import * as RemoteClient from "../../src/client/remote.js"
import { apiBaseUrl } from "../../src/client/remote-http.js"
import type { DataDocument } from "../../src/domain/data.js"
import { defaultRunPolicy, newUuid, States, type Uuid } from "../../src/domain/index.js"
import * as Orion from "../../src/sdk/services.js"
import { ResultStore, v8Serializer } from "../../runtime/results.js"
import { databases, tempDir } from "../support/databases.js"
import { lossyProxy } from "../support/lossy-proxy.js"
import { flowRunCreate, taskRunCreate } from "../support/orchestrator.js"
import { apiServer, baseUrl, unique } from "../api/harness.js"
import { onDatabase, serverLayer } from "../../src/api/server.js"
import { freePort as freePortNow } from "../support/ports.js"

/** Runs `effect` on a remote client of `url` (the server's origin), giving up after `retryFor`. */
const onRemote = (url: string, retryFor: Duration.DurationInput = "5 seconds") => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, RemoteClient.layer({ url: `${url}/api`, retryFor }))

const withClient = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flatMap(baseUrl, (url) => onRemote(url)(effect))

/** The typed API client, to check what the server stored independently of the client under test. */
const api = Effect.flatMap(baseUrl, (url) => HttpApiClient.make(OrionApi, { baseUrl: url })).pipe(Effect.provide(FetchHttpClient.layer))

const freePort = () => Effect.promise(freePortNow)

const elapsedOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.timed(effect), ([d, a]) => ({ ms: Duration.toMillis(d), value: a }))

describe("apiBaseUrl", () => {
  it("takes the API URL with or without /api and a trailing slash", () => {
    expect(apiBaseUrl("http://127.0.0.1:4200/api")).toBe("http://127.0.0.1:4200")
    expect(apiBaseUrl("http://127.0.0.1:4200/api/")).toBe("http://127.0.0.1:4200")
    expect(apiBaseUrl("http://127.0.0.1:4200")).toBe("http://127.0.0.1:4200")
    expect(apiBaseUrl("https://example.org/orion/api")).toBe("https://example.org/orion")
  })
})

describe.each(databases)("remote OrionClient on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("every method maps to its route: flows, runs, states, proposals (forced too), logs, heartbeats", () =>
      withClient(Effect.gen(function*() {
        const client = yield* OrionClient
        const name = unique("remote")
        const flow = yield* client.ensureFlow({ name, tags: ["nightly"] })
        expect(flow).toMatchObject({ name, tags: ["nightly"] })
        expect((yield* client.ensureFlow({ name, tags: [] })).id).toBe(flow.id)
        expect((yield* client.readFlow(flow.id)).name).toBe(name)

        const run = yield* client.createFlowRun(flowRunCreate(flow.id, { parameters: { n: 3 }, tags: ["t"] }))
        expect(run).toMatchObject({ created: true, state: { type: "PENDING" } })
        const keyed = yield* client.createFlowRun(flowRunCreate(flow.id, { idempotency_key: "k" }))
        expect(yield* client.createFlowRun(flowRunCreate(flow.id, { idempotency_key: "k" }))).toMatchObject({ id: keyed.id, created: false })
        const flowRef = { kind: "flow_run" as const, id: run.id }
        expect(yield* client.proposeState(flowRef, States.Running())).toMatchObject({ status: "ACCEPT", state: { type: "RUNNING" } })
        yield* client.heartbeat(flowRef)
        expect((yield* client.readFlowRun(run.id)).heartbeat_time).toBeInstanceOf(Date)

        const task = yield* client.createTaskRun(taskRunCreate(run.id, { task_key: "extract", dynamic_key: "0", empirical_policy: defaultRunPolicy }))
        expect(task).toMatchObject({ created: true, state: { type: "PENDING" } })
        const startedTask = yield* client.createTaskRun(taskRunCreate(run.id, { task_key: "load", dynamic_key: "0" }), { start: States.Running() })
        expect(startedTask).toMatchObject({ created: true, state: { type: "RUNNING" }, started: { status: "ACCEPT", state: { type: "RUNNING" } } })
        expect(yield* client.createTaskRun(taskRunCreate(run.id, { task_key: "extract", dynamic_key: "0" }))).toMatchObject({ id: task.id, created: false })
        const taskRef = { kind: "task_run" as const, id: task.id }
        yield* client.proposeState(taskRef, States.Running())
        yield* client.heartbeat(taskRef)
        const done = yield* client.proposeState(taskRef, States.Completed({ data: { encoding: "json", blob: "[1,2,3]" } }))
        expect(done).toMatchObject({ status: "ACCEPT", state: { type: "COMPLETED", data: { encoding: "json", blob: "[1,2,3]" } } })
        expect(yield* client.proposeState(taskRef, States.Running())).toMatchObject({ status: "ABORT", state: null })
        expect(yield* client.proposeState(taskRef, States.Running(), { force: true })).toMatchObject({ status: "ACCEPT", state: { type: "RUNNING" } })
        yield* client.proposeState(taskRef, States.Completed())
        yield* client.proposeState(flowRef, States.Completed())
        const at = new Date()
        yield* client.createLogs([
          { name: "etl", level: 20, message: "extracted 3 rows", timestamp: at, flow_run_id: run.id, task_run_id: task.id },
          { name: "etl", level: 30, message: "slow", timestamp: at, flow_run_id: run.id, task_run_id: null }
        ])
        yield* client.createLogs([])

        expect(yield* client.readFlowRun(run.id)).toMatchObject({ id: run.id, flow_id: flow.id, parameters: { n: 3 }, tags: ["t"], state_type: "COMPLETED" })
        expect((yield* client.readTaskRun(task.id)).state_type).toBe("COMPLETED")
        expect((yield* client.readStates(flowRef)).map((s) => s.name)).toEqual(["Pending", "Running", "Completed"])
        expect((yield* client.readStates(taskRef)).map((s) => s.name)).toEqual(["Pending", "Running", "Completed", "Running", "Completed"])
        const runs = yield* client.readFlowRuns({ flows: { id: { any_: [flow.id] } }, limit: 200, offset: 0, sort: "ID_DESC" })
        expect(runs.map((r) => r.id).sort()).toEqual([run.id, keyed.id].sort())
        const tasks = yield* client.readTaskRuns({ flow_runs: { id: { any_: [run.id] } }, limit: 200, offset: 0, sort: "ID_DESC" })
        expect(tasks.map((t) => t.id).sort()).toEqual([task.id, startedTask.id].sort())
        const logs = yield* (yield* api).logs.filter({ payload: { logs: { flow_run_id: { any_: [run.id] } }, limit: 200, offset: 0, sort: "TIMESTAMP_ASC" } })
        expect(logs.map((l) => [l.message, l.task_run_id])).toEqual(expect.arrayContaining([["extracted 3 rows", task.id], ["slow", null]]))
      })))

    it.effect("unknown and malformed ids are typed not-found errors", () =>
      withClient(Effect.gen(function*() {
        const client = yield* OrionClient
        const missing = newUuid()
        expect(yield* Effect.flip(client.readFlow(missing))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow" })
        expect(yield* Effect.flip(client.readFlowRun(missing))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
        expect(yield* Effect.flip(client.readTaskRun("not-a-uuid"))).toMatchObject({ _tag: "ObjectNotFound", thing: "Task run" })
        expect(yield* Effect.flip(client.proposeState({ kind: "task_run", id: missing }, States.Running()))).toMatchObject({ _tag: "ObjectNotFound" })
        expect(yield* Effect.flip(client.heartbeat({ kind: "flow_run", id: missing }))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
        expect(yield* Effect.flip(client.createFlowRun(flowRunCreate(missing)))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow" })
        expect(yield* Effect.flip(client.createTaskRun(taskRunCreate(missing)))).toMatchObject({ _tag: "ObjectNotFound", thing: "Flow run" })
        expect(yield* client.readStates({ kind: "flow_run", id: missing })).toEqual([])
      })))

    it.effect("bad input is refused at once with the server's message, not retried", () =>
      withClient(Effect.gen(function*() {
        const client = yield* OrionClient
        const flow = yield* client.ensureFlow({ name: unique("bad"), tags: [] })
        const other = yield* client.ensureFlow({ name: unique("other"), tags: [] })
        const run = yield* client.createFlowRun(flowRunCreate(flow.id))

        const conflict = yield* elapsedOf(Effect.flip(client.createFlowRun(flowRunCreate(other.id, { id: run.id }))))
        expect(conflict.value).toMatchObject({ _tag: "OrionUnavailable" })
        expect(conflict.value.message).toContain(`refused POST /api/flow_runs/: HTTP 409 Conflict: Flow run ${run.id} already exists, as a run of flow ${flow.id}`)
        expect(conflict.ms).toBeLessThan(1000)

        const line = { name: "big", level: 20, message: "x".repeat(700_000), timestamp: new Date(), flow_run_id: run.id, task_run_id: null }
        const tooLarge = yield* Effect.flip(client.createLogs([line, line]))
        expect(tooLarge.message).toMatch(/refused POST \/api\/logs\/: HTTP 413 PayloadTooLarge: Request body larger than \d+ bytes/)

        // Caught before sending: the value does not fit the API's schema.
        const invalid = yield* Effect.flip(client.createTaskRun(taskRunCreate(run.id, { task_key: "" })))
        expect(invalid.message).toContain("did not match the API's schema")
        expect(invalid.message).toContain("task_key")
      })))

    it.scoped("a write whose answer was lost is applied once: creates, accepted and rejected proposals", () =>
      Effect.gen(function*() {
        const proxy = yield* lossyProxy(yield* baseUrl)
        yield* onRemote(proxy.url)(Effect.gen(function*() {
          const client = yield* OrionClient
          const orion = yield* api
          const flow = yield* client.ensureFlow({ name: unique("lossy"), tags: [] })

          proxy.dropNext("POST", "/api/flow_runs/")
          const run = yield* client.createFlowRun(flowRunCreate(flow.id))
          expect(proxy.seen.filter((r) => r === "POST /api/flow_runs/")).toHaveLength(2)
          expect(yield* orion.flow_runs.count({ payload: { flows: { id: { any_: [flow.id] } } } })).toBe(1)

          const flowRef = { kind: "flow_run" as const, id: run.id }
          proxy.dropNext("POST", "/set_states")
          expect(yield* client.proposeState(flowRef, States.Running())).toMatchObject({ status: "ACCEPT", state: { type: "RUNNING", name: "Running" } })

          proxy.dropNext("POST", "/api/task_runs/create_many")
          const task = yield* client.createTaskRun(taskRunCreate(run.id, { empirical_policy: { max_retries: 1, retry_delay_seconds: 0, retry_jitter_factor: 0 } }))
          const taskRef = { kind: "task_run" as const, id: task.id }
          proxy.dropNext("POST", "/set_states")
          yield* client.proposeState(taskRef, States.Running())
          proxy.dropNext("POST", "/set_states")
          const retry = yield* client.proposeState(taskRef, States.Failed({ message: "boom" }))
          expect(retry).toMatchObject({ status: "REJECT", state: { type: "SCHEDULED", name: "AwaitingRetry" }, details: { type: "reject_details" } })
          yield* client.proposeState(taskRef, States.Running())
          proxy.dropNext("POST", "/set_states")
          expect(yield* client.proposeState(taskRef, States.Completed())).toMatchObject({ status: "ACCEPT", state: { type: "COMPLETED" } })
          proxy.dropNext("POST", "/set_states")
          expect(yield* client.proposeState(flowRef, States.Completed())).toMatchObject({ status: "ACCEPT", state: { type: "COMPLETED" } })

          // Created and started in one request whose answer is lost: the retry finds the run, and its start, once.
          const second = yield* client.createFlowRun(flowRunCreate(flow.id))
          proxy.dropNext("POST", "/api/task_runs/create_many")
          const started = yield* client.createTaskRun(taskRunCreate(second.id), { start: States.Running() })
          expect(started).toMatchObject({ created: false, state: { type: "RUNNING" }, started: { status: "ACCEPT", state: { type: "RUNNING" } } })
          expect((yield* client.readStates({ kind: "task_run", id: started.id })).map((s) => s.name)).toEqual(["Pending", "Running"])
          // A run found rather than created is not started, even on a retry, when its creation did not start it.
          const plain = yield* client.createTaskRun(taskRunCreate(second.id, { task_key: "plain", dynamic_key: "0" }))
          yield* client.proposeState({ kind: "task_run", id: plain.id }, States.Running())
          proxy.dropNext("POST", "/api/task_runs/create_many")
          const found = yield* client.createTaskRun(taskRunCreate(second.id, { task_key: "plain", dynamic_key: "0" }), { start: States.Running() })
          expect(found).toMatchObject({ id: plain.id, created: false, state: { type: "RUNNING" } })
          expect(found.started).toBeUndefined()

          expect((yield* client.readStates(flowRef)).map((s) => s.name)).toEqual(["Pending", "Running", "Completed"])
          expect((yield* client.readStates(taskRef)).map((s) => s.name)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"])
          const decisions = yield* orion.task_runs.decisions({ path: { id: task.id } })
          expect(decisions.map((d) => d.status)).toEqual(["ACCEPT", "ACCEPT", "REJECT", "ACCEPT", "ACCEPT"])
          expect(yield* orion.task_runs.count({ payload: { flow_runs: { id: { any_: [run.id] } } } })).toBe(1)
          // Each proposal was sent once: the retries after a lost answer found it applied and did not send it again.
          expect(proxy.seen.filter((r) => r.endsWith("/set_states"))).toHaveLength(7)
        }))
      }))

    it.effect("the default services take the remote client and the server's result store when ORION_API_URL is set", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const home = tempDir("orion-remote-home-")
        const config = ConfigProvider.fromMap(new Map([["ORION_API_URL", `${url}/api/`], ["ORION_HOME", home]]))
        yield* Effect.gen(function*() {
          const client = yield* OrionClient
          const store = yield* ResultStore
          const flow = yield* client.ensureFlow({ name: unique("services"), tags: [] })
          expect((yield* (yield* api).flows.get({ path: { id: flow.id } })).name).toBe(flow.name)

          // a small result travels inline in its state; a large one is stored by the server
          expect(yield* store.persist({ rows: [1, 2, 3] })).toEqual({ encoding: "json", blob: "{\"rows\":[1,2,3]}" })
          const rows = Array.from({ length: 2000 }, (_, i) => i)
          const doc = yield* store.persist({ rows })
          expect(doc).toMatchObject({ encoding: "orion" })
          expect(yield* store.retrieve(doc)).toEqual({ rows })
          const when = new Date("2026-01-02T03:04:05Z")
          expect(yield* store.retrieve(yield* store.persist(new Map([["at", when]]), v8Serializer))).toEqual(new Map([["at", when]]))
          const gone = { encoding: "orion", blob: JSON.stringify({ encoding: "file", blob: path.join(settingsDataDir(doc), "0".repeat(32)) }) }
          expect((yield* Effect.flip(store.retrieve(gone))).message).toMatch(/cannot read a result on the server: .*Data not found/)
        }).pipe(Effect.provide(Layer.fresh(Orion.layer)), Effect.withConfigProvider(config))
        expect(fs.readdirSync(home)).toEqual([])
      }))
    it.effect("a task run told to WAIT for a full concurrency slot is woken by the server as soon as the slot is given back", () =>
      withClient(Effect.gen(function*() {
        const client = yield* OrionClient
        const tag = unique("slot")
        const limits = yield* api
        yield* limits.concurrency_limits.create({ payload: { tag, concurrency_limit: 1 } })
        const flow = yield* client.ensureFlow({ name: unique("slots"), tags: [] })
        const run = yield* client.createFlowRun(flowRunCreate(flow.id))
        const holder = yield* client.createTaskRun(taskRunCreate(run.id, { tags: [tag] }), { start: States.Running() })
        expect(holder.started).toMatchObject({ status: "ACCEPT" })
        const waiter = yield* client.createTaskRun(taskRunCreate(run.id, { tags: [tag] }))
        const waiterRef = { kind: "task_run" as const, id: waiter.id }
        const told = yield* client.proposeState(waiterRef, States.Running())
        expect(told).toMatchObject({ status: "WAIT", details: { delay_seconds: 30 } })
        const woken = yield* Effect.fork(elapsedOf(client.slotWait(waiterRef)))
        yield* Effect.sleep("300 millis")
        expect(woken.unsafePoll()).toBeNull()
        yield* client.proposeState({ kind: "task_run", id: holder.id }, States.Completed())
        // Well inside the WAIT's 30 s: the server answered the held request when the slot was given back.
        const { ms } = yield* Fiber.join(woken).pipe(Effect.timeout("10 seconds"))
        expect(ms).toBeGreaterThanOrEqual(300)
        expect(yield* client.proposeState(waiterRef, States.Running())).toMatchObject({ status: "ACCEPT" })
      })))

    it.effect("wait_for_slot answers false after its timeout for a run that waits for no slot, and refuses a timeout out of range", () =>
      Effect.gen(function*() {
        const client = yield* api
        const id = newUuid()
        expect(yield* client.task_runs.waitForSlot({ path: { id }, payload: { timeout_seconds: 0.2 } })).toEqual({ woken: false })
        const url = yield* baseUrl
        const refused = yield* Effect.promise(() => fetch(`${url}/api/task_runs/${id}/wait_for_slot`, {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ timeout_seconds: 3600 })
        }))
        expect(refused.status).toBe(422)
        expect(yield* Effect.promise(() => refused.text())).toContain("timeout_seconds")
      }))
  })

})

/** The server's data directory, as named inside an `orion` document it made. */
const settingsDataDir = (doc: DataDocument | null) => path.dirname((JSON.parse(doc!.blob) as { blob: string }).blob)

describe.each(databases)("remote OrionClient batches, on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.scoped("a batch the server refuses as too large is sent again one proposal at a time: each is applied", () =>
      Effect.gen(function*() {
        const proxy = yield* lossyProxy(yield* baseUrl)
        yield* onRemote(proxy.url)(Effect.gen(function*() {
          const client = yield* OrionClient
          const flow = yield* client.ensureFlow({ name: unique("split"), tags: [] })
          const runs = yield* Effect.all(Array.from({ length: 8 }, () => client.createFlowRun(flowRunCreate(flow.id))))
          // Control characters weigh one character each, but six bytes in JSON: two of these together exceed 1 MiB.
          const message = "\u0001".repeat(100_000)
          const results = yield* Effect.all(runs.map((r) => client.proposeState({ kind: "flow_run", id: r.id }, States.Running({ message }))), { concurrency: "unbounded" })
          expect(results.map((r) => r.status)).toEqual(runs.map(() => "ACCEPT"))
          expect(proxy.answered.filter((a) => a.endsWith("/set_states 413")).length).toBeGreaterThan(0)
          for (const r of runs) expect((yield* client.readFlowRun(r.id)).state?.message).toBe(message)
        }))
      }))
  })
})

describe.each(databases)("remote OrionClient while the server is down, on $name", (db) => {
  it.live("retries while the connection is refused, and succeeds once the server has started", () =>
    Effect.scoped(Effect.gen(function*() {
      const port = yield* freePort()
      const url = `http://127.0.0.1:${port}`
      const call = yield* Effect.fork(onRemote(url, "30 seconds")(Effect.flatMap(OrionClient, (c) => c.ensureFlow({ name: "late", tags: [] }))))
      yield* Effect.sleep("1500 millis")
      yield* Layer.build(onDatabase(serverLayer({ host: "127.0.0.1", port, dataDir: tempDir("orion-data-") }), db.layer()))
      const flow = yield* Fiber.join(call)
      expect(flow.name).toBe("late")
    })), 60_000)

  it.live("gives up after its retry time with a message naming the URL and the cause", () =>
    Effect.gen(function*() {
      const port = yield* freePort()
      const url = `http://127.0.0.1:${port}`
      const { ms, value: error } = yield* elapsedOf(Effect.flip(onRemote(url, "1 second")(Effect.flatMap(OrionClient, (c) => c.readFlowRun(newUuid() as Uuid)))))
      expect(error._tag).toBe("OrionUnavailable")
      expect(error.message).toContain(`The Orion API at ${url}/api could not be reached for GET /api/flow_runs/`)
      expect(error.message).toContain("ECONNREFUSED")
      expect(error.message).toContain("Is the server running (orion start) and ORION_API_URL right?")
      expect(ms).toBeGreaterThanOrEqual(900)
      expect(ms).toBeLessThan(8000)
    }))
})
