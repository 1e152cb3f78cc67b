/**
 * Deployments that run themselves, as a user sets them up — every part a real process: `orion start` (SQLite), a
 * deployment registered from a module with `orion deployment create`, and `orion agent start`; the runs of its 1-second
 * schedule end Completed on their own, and a module that cannot be loaded ends its runs Failed saying why. Then two
 * agents on one PostgreSQL: no run is executed twice.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { tempDir } from "../support/databases.js"
import { cleanEnv } from "../support/env.js"
import { freePort } from "../support/ports.js"
import { bin, getJson, launch as launchProcess, orion, postJson, root, type Running, stop, waitFor } from "../support/orion-processes.js"

const flows = path.join(root, "test", "fixtures", "agent-flows.ts")
const brokenFlows = path.join(root, "test", "fixtures", "agent-broken-flows.ts")
const policyFlows = path.join(root, "test", "fixtures", "agent-policy-flows.ts")

/** Long-lived `orion …` processes, stopped (by their pid) after each test. */
const started: Array<ChildProcess> = []
const launch = (args: ReadonlyArray<string>, env: Record<string, string>): Running => {
  const running = launchProcess(args, env)
  started.push(running.child)
  return running
}
afterEach(async () => {
  await Promise.all(started.splice(0).map(stop))
}, 60_000)

interface RunRow { readonly id: string; readonly name: string; readonly state_type: string | null; readonly state_name?: string | null; readonly empirical_policy?: Record<string, unknown>; readonly state: { readonly message: string | null } | null; readonly deployment_id: string | null }
interface StateRow { readonly type: string; readonly name: string; readonly message: string | null }

const post = <A>(api: string, route: string, body: unknown): Promise<A> => postJson(`${api}${route}`, body)
const get = <A>(api: string, route: string): Promise<A> => getJson(`${api}${route}`)

const runsOf = (api: string, flowName: string, states: ReadonlyArray<string>) =>
  post<Array<RunRow>>(api, "/flow_runs/filter", { flows: { name: { any_: [flowName] } }, flow_runs: { state: { type: { any_: states } } }, limit: 200 })

const slow = { timeout: 600_000 }

describe("an agent runs a deployment's schedule on its own (orion start on SQLite)", slow, () => {
  it("registered with `orion deployment create`, a 1-second interval's runs end Completed, each once; an unloadable flow's runs end Failed with the reason", async () => {
    const home = tempDir("orion-agent-")
    const port = await freePort()
    const api = `http://127.0.0.1:${port}/api`
    // This test's agent is the one started below (its executions are recorded): the server runs none of its own.
    const server = launch(["start", "--port", String(port), "--no-ui"], { ORION_HOME: home, ORION_SERVICES_AGENT_ENABLED: "false" })
    await waitFor("the server", 120_000, async () => (await fetch(`${api}/health`)).ok ? true : undefined, server.output)

    const created = await orion(["deployment", "create", flows], { ORION_API_URL: api })
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout).toMatch(/^Created deployment 'agent-tick\/every-second' \([0-9a-f-]{36}\): flow tick of .*agent-flows\.ts, queue 'default', every 1s$/m)
    const again = await orion(["deployment", "create", flows], { ORION_API_URL: api })
    expect(again.stdout).toMatch(/^Updated deployment 'agent-tick\/every-second'/m)
    const [deployment] = await post<Array<{ id: string; flow_path: string; flow_export: string; work_queue: string }>>(api, "/deployments/filter", { flows: { name: { any_: ["agent-tick"] } } })
    expect(deployment).toMatchObject({ flow_path: flows, flow_export: "tick", work_queue: "default" })
    const broken = await orion(["deployment", "create", brokenFlows], { ORION_API_URL: api })
    expect(broken.code, broken.stderr).toBe(0)

    // by hand: `orion flow-run execute` takes over a run made from the deployment (no second run), then refuses it once finished
    const executions = path.join(home, "executions.txt")
    const manual = await post<RunRow>(api, `/deployments/${deployment!.id}/create_flow_run`, { name: "by-hand" })
    const executed = await orion(["flow-run", "execute", manual.id], { ORION_API_URL: api, AGENT_FIXTURE_EXECUTIONS: executions })
    expect(executed.code, executed.stderr).toBe(0)
    expect(executed.stdout).toContain(`Flow run ${manual.id} finished in state Completed`)
    expect((await get<Array<StateRow>>(api, `/flow_run_states/?flow_run_id=${manual.id}`)).map((s) => s.type)).toEqual(["PENDING", "RUNNING", "COMPLETED"])
    expect(fs.readFileSync(executions, "utf8").trim().split("\n")).toEqual([manual.id])
    const twice = await orion(["flow-run", "execute", manual.id], { ORION_API_URL: api })
    expect(twice.code).toBe(1)
    expect(twice.stderr.trim()).toBe("Flow run 'by-hand' has already finished (Completed).")

    const agent = launch(["agent", "start", "--work-queue", "default", "-q", "broken", "--limit", "4"], {
      ORION_API_URL: api, AGENT_FIXTURE_EXECUTIONS: executions, AGENT_FIXTURE_BREAK: "1"
    })
    const output = () => `--- server\n${server.output()}\n--- agent\n${agent.output()}`

    const completed = await waitFor("3 completed runs of agent-tick", 180_000, async () => {
      const runs = (await runsOf(api, "agent-tick", ["COMPLETED"])).filter((r) => r.id !== manual.id)
      return runs.length >= 3 ? runs : undefined
    }, output)
    for (const run of completed.slice(0, 3)) {
      expect(run.deployment_id).toBe(deployment!.id)
      // the scheduler's run itself, taken over: claimed (Pending) by the agent, then run by its executor — marked Late
      // first by the server's late-runs service when the agent, started after the steps above, found it overdue
      const states = (await get<Array<StateRow>>(api, `/flow_run_states/?flow_run_id=${run.id}`)).filter((s) => s.name !== "Late")
      expect(states.map((s) => s.type)).toEqual(["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"])
      expect(states[1]!.message).toBe("Claimed by an agent")
    }
    const failed = await waitFor("a failed run of agent-broken", 120_000, async () => {
      const runs = await runsOf(api, "agent-broken", ["FAILED"])
      return runs.length >= 1 ? runs : undefined
    }, output)
    expect(failed[0]!.state?.message).toMatch(/^Could not load the flow from .*agent-broken-flows\.ts: agent-broken-flows refuses to load here$/)

    await stop(agent.child)
    const lines = fs.readFileSync(executions, "utf8").trim().split("\n")
    expect(new Set(lines).size).toBe(lines.length)
    for (const run of completed) expect(lines).toContain(run.id)
    // nothing was run outside the deployment: every run of the flow is one of the schedule's
    const all = await post<Array<RunRow>>(api, "/flow_runs/filter", { flows: { name: { any_: ["agent-tick"] } }, limit: 200 })
    expect(all.every((r) => r.deployment_id === deployment!.id)).toBe(true)
  })

  it("`orion start` alone runs them: its own agent (a service) claims and completes a deployment's runs, each once", async () => {
    const home = tempDir("orion-agent-")
    const port = await freePort()
    const api = `http://127.0.0.1:${port}/api`
    const executions = path.join(home, "executions.txt")
    const server = launch(["start", "--port", String(port), "--no-ui"], { ORION_HOME: home, AGENT_FIXTURE_EXECUTIONS: executions })
    await waitFor("the server", 120_000, async () => (await fetch(`${api}/health`)).ok ? true : undefined, server.output)
    const services = await get<Array<{ name: string; state: string }>>(api, "/admin/services")
    expect(services.find((s) => s.name === "agent")).toMatchObject({ state: "running" })
    const created = await orion(["deployment", "create", flows], { ORION_API_URL: api })
    expect(created.code, created.stderr).toBe(0)
    const completed = await waitFor("2 completed runs of agent-tick", 180_000, async () => {
      const runs = await runsOf(api, "agent-tick", ["COMPLETED"])
      return runs.length >= 2 ? runs : undefined
    }, server.output)
    for (const run of completed) {
      const states = await get<Array<StateRow>>(api, `/flow_run_states/?flow_run_id=${run.id}`)
      expect(states.map((s) => s.type)).toEqual(["SCHEDULED", "PENDING", "RUNNING", "COMPLETED"])
    }
    await stop(server.child)
    const lines = fs.readFileSync(executions, "utf8").trim().split("\n")
    expect(new Set(lines).size).toBe(lines.length)
    for (const run of completed) expect(lines).toContain(run.id)
  })

  it("refuses a file without deployments, a missing file and a bad --limit with one line and a non-zero exit", async () => {
    const home = tempDir("orion-agent-")
    const none = await orion(["deployment", "create", path.join(root, "test", "support", "env.ts")], { ORION_HOME: home })
    expect(none.code).toBe(1)
    expect(none.stderr.trim()).toMatch(/env\.ts exports no deployments: export what deployment\(\{ flow, name, … \}\) returns$/)
    const missing = await orion(["deployment", "create", "nope/flows.ts"], { ORION_HOME: home })
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toMatch(/^Cannot load deployments: .*nope\/flows\.ts does not exist$/)
    const limit = await orion(["agent", "start", "--limit", "0"], { ORION_HOME: home })
    expect(limit.code).toBe(1)
    expect(limit.stderr).toContain("--limit must be between 1 and 1000, got 0")
  })
})

describe("a deployment's catch-up window and overlap policy, applied by the agent of `orion start`; a long-running deployed run cancelled", slow, () => {
  it("skips a run missed beyond the window and one that would overlap, cancels the previous run for the next, and cancels from the CLI", async () => {
    const home = tempDir("orion-agent-")
    const port = await freePort()
    const api = `http://127.0.0.1:${port}/api`
    const server = launch(["start", "--port", String(port), "--no-ui"], { ORION_HOME: home })
    await waitFor("the server", 120_000, async () => (await fetch(`${api}/health`)).ok ? true : undefined, server.output)
    const created = await orion(["deployment", "create", policyFlows], { ORION_API_URL: api })
    expect(created.code, created.stderr).toBe(0)

    interface DeploymentRow { readonly id: string; readonly catchup_seconds: number | null; readonly overlap: string; readonly empirical_policy: Record<string, unknown> }
    const byName = (name: string) => get<DeploymentRow>(api, `/deployments/name/policy-napper/${name}`)
    // Scheduled now, as the UI's Run does (the route's own default is Pending: a run its caller executes itself).
    const runOf = (d: DeploymentRow, body: Record<string, unknown> = {}) => post<RunRow>(api, `/deployments/${d.id}/create_flow_run`, { state: { type: "SCHEDULED" }, ...body })
    const ended = (run: RunRow) => waitFor(`run '${run.name}' to end`, 120_000, async () => {
      const now = await get<RunRow>(api, `/flow_runs/${run.id}`)
      return ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"].includes(now.state_type ?? "") ? now : undefined
    }, server.output)
    const napping = (run: RunRow) => waitFor(`run '${run.name}' to be napping`, 120_000, async () => {
      const tasks = await post<Array<RunRow>>(api, "/task_runs/filter", { flow_runs: { id: { any_: [run.id] } }, task_runs: { state: { type: { any_: ["RUNNING"] } } } })
      return tasks.length > 0 ? true : undefined
    }, server.output)

    // A run missed by an hour is skipped, saying why; one due now runs.
    const catchUp = await byName("catch-up")
    expect(catchUp).toMatchObject({ catchup_seconds: 60, overlap: "allow" })
    const missed = await runOf(catchUp, { state: { type: "SCHEDULED", state_details: { scheduled_time: new Date(Date.now() - 3_600_000).toISOString() } } })
    const onTime = await runOf(catchUp)
    expect(await ended(missed)).toMatchObject({
      state_type: "CANCELLED", state_name: "Skipped",
      state: { message: expect.stringMatching(/^Missed: due at .*, found due 6\d min later, beyond the deployment's catch-up window of 60 s\.$/) }
    })
    expect((await ended(onTime)).state_type, server.output()).toBe("COMPLETED")

    // overlap "skip": a run due while the previous one naps is skipped; the previous one completes.
    const oneAtATime = await byName("one-at-a-time")
    const first = await runOf(oneAtATime)
    await napping(first)
    const second = await runOf(oneAtATime)
    expect(await ended(second)).toMatchObject({
      state_type: "CANCELLED", state_name: "Skipped",
      state: { message: `Overlap: run '${first.name}' of this deployment is still Running (overlap policy: skip).` }
    })
    expect((await ended(first)).state_type).toBe("COMPLETED")

    // overlap "cancel_previous": a 10-minute run is cancelled when the next is due, which runs.
    const latestWins = await byName("latest-wins")
    const old = await runOf(latestWins, { parameters: { seconds: 600 } })
    await napping(old)
    const next = await runOf(latestWins)
    expect((await ended(old)).state_type).toBe("CANCELLED")
    const oldStates = await get<Array<StateRow>>(api, `/flow_run_states/?flow_run_id=${old.id}`)
    expect(oldStates.find((s) => s.type === "CANCELLING")?.message).toBe(`Cancelled by the deployment's overlap policy (cancel_previous): run '${next.name}' is due.`)
    expect((await ended(next)).state_type).toBe("COMPLETED")

    // A long-running deployed run, cancelled from the command line: it ends Cancelled with its task run. Its runs
    // carry the deployment's retry policy (retries and crash retries: a cancel is not retried).
    const plain = await byName("plain")
    expect(plain.empirical_policy).toMatchObject({ max_retries: 1, retry_crashed: true })
    const long = await runOf(plain, { parameters: { seconds: 600 } })
    expect(long.empirical_policy).toMatchObject({ max_retries: 1, retry_crashed: true })
    await napping(long)
    const cancel = await orion(["flow-run", "cancel", long.id, "--wait"], { ORION_API_URL: api })
    expect(cancel.code, cancel.stderr).toBe(0)
    expect((await ended(long)).state_type).toBe("CANCELLED")
    const tasks = await post<Array<RunRow>>(api, "/task_runs/filter", { flow_runs: { id: { any_: [long.id] } } })
    expect(tasks.map((t) => t.state_type)).toEqual(["CANCELLED"])
  })
})

describe("an agent killed with SIGKILL together with its executors (its process group), mid-run", slow, () => {
  it("leaves the run to crash detection: Crashed within the timeout, then retried as its deployment asks, to Completed by the next agent", async () => {
    const home = tempDir("orion-agent-")
    const port = await freePort()
    const api = `http://127.0.0.1:${port}/api`
    const server = launch(["start", "--port", String(port), "--no-ui"], {
      ORION_HOME: home, ORION_SERVICES_AGENT_ENABLED: "false",
      ORION_SERVICES_CRASH_DETECTION_TIMEOUT_SECONDS: "3", ORION_SERVICES_CRASH_DETECTION_LOOP_SECONDS: "1",
      ORION_SERVICES_CRASH_DETECTION_PENDING_TIMEOUT_SECONDS: "120"
    })
    await waitFor("the server", 120_000, async () => (await fetch(`${api}/health`)).ok ? true : undefined, server.output)
    expect((await orion(["deployment", "create", policyFlows], { ORION_API_URL: api })).code).toBe(0)
    const sturdy = await get<{ id: string }>(api, "/deployments/name/policy-crashy/sturdy")
    const run = await post<RunRow>(api, `/deployments/${sturdy.id}/create_flow_run`, { state: { type: "SCHEDULED" } })

    const env = { ORION_API_URL: api, ORION_HEARTBEAT_INTERVAL: "0.5", ORION_AGENT_RETRY_GRACE: "0", AGENT_FIXTURE_MARKER: path.join(home, "attempted") }
    // Its own process group, as a service manager runs it: the group is killed at once, executors included.
    const first = spawn(process.execPath, [bin, "agent", "start"], { cwd: root, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"], detached: true })
    started.push(first)
    let output = ""
    first.stdout!.on("data", (d: Buffer) => { output += d.toString() })
    first.stderr!.on("data", (d: Buffer) => { output += d.toString() })
    const context = () => `--- server\n${server.output()}\n--- first agent\n${output}`
    await waitFor("the run to be napping", 120_000, async () => {
      const tasks = await post<Array<RunRow>>(api, "/task_runs/filter", { flow_runs: { id: { any_: [run.id] } }, task_runs: { state: { type: { any_: ["RUNNING"] } } } })
      return tasks.length > 0 ? true : undefined
    }, context)
    process.kill(-first.pid!, "SIGKILL")

    // Crash detection finds it silent, and the rules send it to its retry (its deployment asked for one on a crash).
    const retrying = await waitFor("the run to await its retry", 60_000, async () => {
      const states = await get<Array<StateRow>>(api, `/flow_run_states/?flow_run_id=${run.id}`)
      return states.some((s) => s.name === "AwaitingRetry") ? states : undefined
    }, context)
    // (marked Late first by the server's late-runs service when the agent, slow to start on a loaded machine, found it overdue)
    expect(retrying.map((s) => s.name).filter((n) => n !== "Late")).toEqual(["Scheduled", "Pending", "Running", "AwaitingRetry"])
    const decisions = await get<Array<{ proposed_type: string; status: string; rule: string | null }>>(api, `/flow_runs/${run.id}/decisions`)
    expect(decisions.find((d) => d.proposed_type === "CRASHED")).toMatchObject({ status: "REJECT", rule: "RetryCrashedFlows" })

    const second = launch(["agent", "start"], env)
    const done = await waitFor("the retry to complete", 120_000, async () => {
      const now = await get<RunRow>(api, `/flow_runs/${run.id}`)
      return now.state_type === "COMPLETED" ? now : undefined
    }, () => `${context()}\n--- second agent\n${second.output()}`)
    expect(done.state_name).toBe("Completed")
    const states = await get<Array<StateRow>>(api, `/flow_run_states/?flow_run_id=${run.id}`)
    expect(states.map((s) => s.name).slice(-3)).toEqual(["Pending", "Rerunning", "Completed"])
  })
})

const pgUrl = process.env.ORION_TEST_PG_URL

describe.skipIf(pgUrl === undefined)("two agents on one PostgreSQL", slow, () => {
  it("claim the same schedule's runs and never execute one twice", async () => {
    const pg = createRequire(import.meta.url)("pg") as any
    const name = `orion_agents_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
    const admin = new pg.Client({ connectionString: pgUrl })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    const url = new URL(pgUrl!)
    url.pathname = `/${name}`
    const database = url.toString()
    const db = new pg.Client({ connectionString: database })
    try {
      const home = tempDir("orion-agents-pg-")
      const env = { ORION_HOME: home, ORION_DATABASE_URL: database }
      const created = await orion(["deployment", "create", flows], env)
      expect(created.code, created.stderr).toBe(0)

      const executions = path.join(home, "executions.txt")
      const agents = [1, 2].map(() => launch(["agent", "start", "--limit", "3"], { ...env, AGENT_FIXTURE_EXECUTIONS: executions }))
      const output = () => agents.map((a, i) => `--- agent ${i + 1}\n${a.output()}`).join("\n")
      await db.connect()
      const completedCount = async () => Number((await db.query(`SELECT COUNT(*) AS n FROM flow_run WHERE state_type = 'COMPLETED'`)).rows[0].n)
      await waitFor("6 completed runs", 240_000, async () => (await completedCount()) >= 6 ? true : undefined, output)
      await Promise.all(agents.map((a) => stop(a.child)))
      // executors already handed a run finish it on their own
      await waitFor("the runs in flight to end", 240_000, async () =>
        Number((await db.query(`SELECT COUNT(*) AS n FROM flow_run WHERE state_type IN ('PENDING', 'RUNNING')`)).rows[0].n) === 0 ? true : undefined, output)

      const lines = fs.readFileSync(executions, "utf8").trim().split("\n")
      expect(lines.length).toBeGreaterThanOrEqual(6)
      expect(new Set(lines).size, `executed twice:\n${output()}`).toBe(lines.length)
      const twice = await db.query(`SELECT flow_run_id, type, COUNT(*) AS n FROM flow_run_state WHERE type IN ('PENDING', 'RUNNING') GROUP BY flow_run_id, type HAVING COUNT(*) > 1`)
      expect(twice.rows).toEqual([])
      const completed = await db.query(`SELECT id FROM flow_run WHERE state_type = 'COMPLETED'`)
      expect(new Set(lines)).toEqual(new Set(completed.rows.map((r: { id: string }) => r.id)))
    } finally {
      await db.end().catch(() => undefined)
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined)
      await admin.end()
    }
  })
})
