/**
 * Remote mode end to end: a user's script in its own process, with ORION_API_URL set, runs its flows against a real
 * server; everything is then read back through the API — runs, whole state histories, decisions, logs and results.
 * And the server killed (SIGKILL) and restarted mid-flow: the flow still completes, each task run exactly once.
 */
import { FetchHttpClient, HttpApiClient } from "@effect/platform"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { OrionApi } from "../../src/api/api.js"
import type { DataDocument } from "../../src/domain/data.js"
import type { FlowRun, TaskRun, Uuid } from "../../src/domain/index.js"
import { databases, tempDir } from "../support/databases.js"
import { apiServer, baseUrl } from "./harness.js"
import { freePort } from "../support/ports.js"
import { cleanEnv } from "../support/env.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

interface Exited { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly output: string }
interface Process { readonly child: ChildProcess; readonly output: () => string; readonly exited: Promise<Exited> }

const start = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Process => {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  const exited = new Promise<Exited>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, output })))
  return { child, output: () => output, exited }
}

interface ScriptResult {
  readonly flow_run_id: Uuid
  readonly type: string
  readonly name: string
  readonly message: string | null
  readonly data: DataDocument | null
  readonly bodies: Record<string, number>
}

/** Runs test/support/remote-flow-script.ts against `apiUrl` and answers what it printed (its exit code checked). */
const runScript = (apiUrl: string, args: ReadonlyArray<string>, timeoutMs = 90_000) =>
  Effect.promise(async () => {
    const home = tempDir("orion-remote-script-")
    const script = start(["test/support/remote-flow-script.ts", ...args], cleanEnv({ ORION_HOME: home, ORION_API_URL: apiUrl, ORION_LOGGING_BATCH_INTERVAL: "0.2" }))
    const timer = setTimeout(() => script.child.kill("SIGKILL"), timeoutMs)
    const exited = await script.exited
    clearTimeout(timer)
    const line = exited.output.split("\n").find((l) => l.startsWith("{\"flow_run_id\""))
    if (exited.code !== 0 || line === undefined) throw new Error(`the script exited ${exited.code ?? exited.signal}:\n${exited.output}`)
    return { result: JSON.parse(line) as ScriptResult, home, output: exited.output }
  })

const typedApi = (url: string) => HttpApiClient.make(OrionApi, { baseUrl: url }).pipe(Effect.provide(FetchHttpClient.layer))
type Api = Effect.Effect.Success<ReturnType<typeof typedApi>>

const page = { limit: 200, offset: 0, sort: "ID_DESC" } as const
const stateNames = (api: Api, kind: "flow_run" | "task_run", id: Uuid) =>
  Effect.map(kind === "flow_run" ? api.flow_run_states.list({ urlParams: { flow_run_id: id } }) : api.task_run_states.list({ urlParams: { task_run_id: id } }),
    (states) => states.map((s) => s.name))
const taskRunsOf = (api: Api, flowRunId: Uuid) => api.task_runs.filter({ payload: { flow_runs: { id: { any_: [flowRunId] } }, ...page } })
const logsOf = (api: Api, flowRunId: Uuid) =>
  Effect.map(api.logs.filter({ payload: { logs: { flow_run_id: { any_: [flowRunId] } }, limit: 200, offset: 0, sort: "TIMESTAMP_ASC" } }), (logs) => logs.map((l) => l.message))
const byName = (runs: ReadonlyArray<TaskRun>) => new Map(runs.map((r) => [r.name, r]))

describe.each(databases)("a flow run from a script in remote mode, on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect("runs tasks, a map, a retry, a subflow and logs through the API; all of it reads back through the API", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const { result, home } = yield* runScript(`${url}/api`, ["showcase"])
        expect(result).toMatchObject({ type: "COMPLETED", name: "Completed" })
        expect(result.bodies).toEqual({ extract: 1, "square-1": 1, "square-2": 1, "square-3": 1, "square-4": 1, "flaky-sum": 2 })
        // Remote mode opened no local database and wrote no local results.
        expect(fs.readdirSync(home).filter((f) => f.startsWith("orion.db") || f === "storage")).toEqual([])

        const api = yield* typedApi(url)
        const run: FlowRun = yield* api.flow_runs.get({ path: { id: result.flow_run_id } })
        expect(run).toMatchObject({ state_type: "COMPLETED", parameters: { n: 4 }, run_count: 1 })
        expect((yield* api.flows.get({ path: { id: run.flow_id } })).name).toBe("remote-showcase")
        expect(yield* stateNames(api, "flow_run", run.id)).toEqual(["Pending", "Running", "Completed"])

        const tasks = byName(yield* taskRunsOf(api, run.id))
        expect([...tasks.keys()].sort()).toEqual(["describe-total-0", "extract-0", "flaky-sum-0", "square-0", "square-1", "square-2", "square-3"])
        for (const [name, task] of tasks) {
          const expected = name === "flaky-sum-0"
            ? ["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]
            : name === "describe-total-0" // the subflow's placeholder: its own Pending, then the subflow's states mirrored
            ? ["Pending", "Pending", "Running", "Completed"]
            : ["Pending", "Running", "Completed"]
          expect(yield* stateNames(api, "task_run", task.id), name).toEqual(expected)
        }
        const flaky = tasks.get("flaky-sum-0")!
        const decisions = yield* api.task_runs.decisions({ path: { id: flaky.id } })
        expect(decisions.map((d) => [d.proposed_name, d.status, d.rule])).toEqual([
          ["Pending", "ACCEPT", null], ["Running", "ACCEPT", null], ["Failed", "REJECT", "RetryFailedTasks"],
          ["Running", "ACCEPT", null], ["Completed", "ACCEPT", null]
        ])
        expect(decisions[2]!.reason).toBe("Retrying (retry 1 of 2)")
        expect((yield* api.flow_runs.decisions({ path: { id: run.id } })).map((d) => d.status)).toEqual(["ACCEPT", "ACCEPT", "ACCEPT"])

        const [subflow, ...others] = yield* api.flow_runs.filter({ payload: { flow_runs: { parent_task_run_id: { any_: [tasks.get("describe-total-0")!.id] } }, ...page } })
        expect(others).toEqual([])
        expect(subflow).toMatchObject({ state_type: "COMPLETED", parameters: { total: 30 } })
        expect(yield* stateNames(api, "flow_run", subflow!.id)).toEqual(["Pending", "Running", "Completed"])

        const logs = yield* logsOf(api, run.id)
        expect(logs).toEqual(expect.arrayContaining(["extracting 4 rows", "summing, attempt 1", "summing, attempt 2", "done: the total is 30"]))
        expect(yield* logsOf(api, subflow!.id)).toEqual([expect.stringMatching(/^Created flow run .* for flow /), "describing 30"])

        // The flow's result, small, travelled inline in its final state: no upload to the server's data store.
        expect(run.state!.data).toEqual(result.data)
        expect(run.state!.data!.encoding).toBe("json")
        expect(JSON.parse(run.state!.data!.blob)).toEqual({ total: 30, summary: "the total is 30" })
      }), 120_000)
  })
})


const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number, process?: Process) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (process !== undefined && process.child.exitCode !== null) throw new Error(`exited while waiting for ${what}:\n${process.output()}`)
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}${process ? `:\n${process.output()}` : ""}`)
}

describe.each(databases)("the server killed and restarted mid-flow, on $name", (db) => {
  it.live("the flow completes; each task run ran and completed exactly once; nothing is lost", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url: databaseUrl, lifecycle } = db.fresh()
      yield* Layer.build(lifecycle)
      const port = yield* Effect.promise(freePort)
      const origin = `http://127.0.0.1:${port}`
      const env = cleanEnv({ ORION_HOME: tempDir("orion-server-"), ...(db.name === "pg" ? { ORION_DATABASE_URL: databaseUrl } : {}) })
      const servers: Array<Process> = []
      const serve = () =>
        Effect.promise(async () => {
          const server = start(["src/cli/main.ts", "start", "--port", String(port), "--no-services", "--no-ui"], env)
          servers.push(server)
          await waitFor("the server", () => fetch(`${origin}/api/health`).then((r) => r.ok), 60_000, server)
          return server
        })
      yield* Effect.addFinalizer(() => Effect.sync(() => servers.forEach((s) => s.child.kill("SIGKILL"))))

      const first = yield* serve()
      const api = yield* typedApi(origin)
      const completed = () => Effect.runPromise(api.task_runs.count({ payload: { task_runs: { state: { type: { any_: ["COMPLETED"] } } } } }))
      const tasks = 16
      const script = yield* Effect.fork(runScript(`${origin}/api`, ["sleepy", String(tasks)]))
      yield* Effect.promise(() => waitFor("four completed task runs", () => completed().then((n) => n >= 4), 60_000))
      first.child.kill("SIGKILL")
      expect((yield* Effect.promise(() => first.exited)).signal).toBe("SIGKILL")
      const before = yield* Effect.promise(async () => (await fetch(`${origin}/api/health`).then(() => "up", () => "down")))
      expect(before).toBe("down")
      yield* Effect.sleep("1 second")
      yield* serve()

      const { result } = yield* Fiber.join(script)
      expect(result).toMatchObject({ type: "COMPLETED", name: "Completed" })
      expect(result.bodies).toEqual(Object.fromEntries(Array.from({ length: tasks }, (_, i) => [`nap-${i}`, 1])))

      const run = yield* api.flow_runs.get({ path: { id: result.flow_run_id } })
      expect(run.state_type).toBe("COMPLETED")
      expect(yield* stateNames(api, "flow_run", run.id)).toEqual(["Pending", "Running", "Completed"])
      const taskRuns = yield* taskRunsOf(api, run.id)
      expect(taskRuns.map((t) => t.name).sort()).toEqual(Array.from({ length: tasks }, (_, i) => `nap-${i}`).sort())
      for (const task of taskRuns) {
        expect(yield* stateNames(api, "task_run", task.id), task.name).toEqual(["Pending", "Running", "Completed"])
        expect((yield* api.task_runs.decisions({ path: { id: task.id } })).map((d) => d.status), task.name).toEqual(["ACCEPT", "ACCEPT", "ACCEPT"])
      }
      expect(yield* api.flow_runs.count({ payload: {} })).toBe(1)
      const logs = yield* logsOf(api, run.id)
      for (let i = 0; i < tasks; i++) expect(logs).toContain(`nap ${i} done`)
    })), 180_000)
})
