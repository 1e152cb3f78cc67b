/**
 * `orion flow-run cancel` end to end: a flow running in another process (a user's script, on the local SQLite home or
 * against a server) is stopped by its own process — with its task runs and its subflow — and ends Cancelled; a run
 * that has not started is Cancelled at once; a finished one is refused in one line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, freshHome, orion, script, type Server, startServer } from "./harness.js"

let home: string
let server: Server
const local = () => ({ ORION_HOME: home })

beforeAll(async () => {
  home = freshHome()
  server = await startServer(home)
}, 120_000)

afterAll(() => server?.stop())

const slow = { timeout: 480_000 }

/** The flow run's state type, its task runs' and its subflow's (with the subflow's task runs'), read from the server. */
const cancelledTree = async (flowRunId: string) => {
  const run = await server.api("GET", `/flow_runs/${flowRunId}`)
  const tasks = await server.api("POST", "/task_runs/filter", { flow_runs: { id: { any_: [flowRunId] } } }) as Array<{ id: string; state_type: string }>
  const [sub] = await server.api("POST", "/flow_runs/filter", { flow_runs: { parent_task_run_id: { any_: tasks.map((t) => t.id) } } }) as Array<{ id: string; state_type: string }>
  const subTasks = sub === undefined ? [] : await server.api("POST", "/task_runs/filter", { flow_runs: { id: { any_: [sub.id] } } }) as Array<{ state_type: string }>
  return { run: run.state_type as string, tasks: tasks.map((t) => t.state_type), sub: sub?.state_type, subTasks: subTasks.map((t) => t.state_type) }
}

const stateNames = async (flowRunId: string) =>
  (await server.api("GET", `/flow_run_states/?flow_run_id=${flowRunId}`) as Array<{ name: string }>).map((s) => s.name)

describe("orion flow-run cancel", slow, () => {
  it("a flow running in a script on the local database: cancel --wait stops it, its task runs and its subflow; all end Cancelled", async () => {
    const flowScript = script("cancel-flows.ts", [], local())
    const [, id] = await flowScript.waitFor(/\{"id":"([0-9a-f-]{36})"\}/)
    const cancelled = await orion(["flow-run", "cancel", id!, "--wait"], local())
    expect(cancelled.code, cancelled.stderr).toBe(0)
    expect(cancelled.stdout).toMatch(/^Flow run '\S+' \([0-9a-f-]{36}\) is Cancelling: the process running it stops it/m)
    expect(cancelled.stdout.trim().split("\n").at(-1)).toMatch(/^Flow run '\S+' finished in state Cancelled\.$/)
    expect(cancelled.stdout).not.toContain("may be gone")

    const ended = await flowScript.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(JSON.parse(ended.stdout.trim().split("\n").at(-1)!)).toEqual({ final: "CANCELLED", name: "Cancelled" })
    expect(await cancelledTree(id!)).toEqual({ run: "CANCELLED", tasks: ["CANCELLED", "CANCELLED"], sub: "CANCELLED", subTasks: ["CANCELLED"] })
    expect(await stateNames(id!)).toEqual(["Pending", "Running", "Cancelling", "Cancelled"])

    const again = await orion(["flow-run", "cancel", id!], local())
    expect(again.code).toBe(1)
    expect(again.stderr.trim()).toMatch(/^Flow run '\S+' has already finished \(Cancelled\): there is nothing to cancel$/)
  })

  it("a flow running in a script against the server: cancel answers Cancelling at once, and the script's process ends it Cancelled", async () => {
    const flowScript = script("cancel-flows.ts", [], server.remote)
    const [, id] = await flowScript.waitFor(/\{"id":"([0-9a-f-]{36})"\}/)
    const cancelled = await orion(["flow-run", "cancel", id!, "--json"], server.remote)
    expect(cancelled.code, cancelled.stderr).toBe(0)
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ flow_run_id: id, state: { type: "CANCELLING", name: "Cancelling", message: "Cancelled from the command line" } })
    const ended = await flowScript.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(JSON.parse(ended.stdout.trim().split("\n").at(-1)!)).toEqual({ final: "CANCELLED", name: "Cancelled" })
    const tree = await eventually("the cancelled tree", 10_000, async () => {
      const t = await cancelledTree(id!)
      return t.run === "CANCELLED" ? t : undefined
    })
    expect(tree).toEqual({ run: "CANCELLED", tasks: ["CANCELLED", "CANCELLED"], sub: "CANCELLED", subTasks: ["CANCELLED"] })
  })

  it("a Scheduled run and a Pending run are Cancelled at once (rule CancelRunsNotYetRunning); waiting on one returns at once", async () => {
    const flow = await server.api("POST", "/flows/", { name: "cli-cancel-not-started" })
    const inAnHour = new Date(Date.now() + 3600_000).toISOString()
    const scheduled = await server.api("POST", "/flow_runs/", { flow_id: flow.id, state: { type: "SCHEDULED", state_details: { scheduled_time: inAnHour } } })
    const pending = await server.api("POST", "/flow_runs/", { flow_id: flow.id })
    const [s, p] = await Promise.all([
      orion(["flow-run", "cancel", scheduled.id, "--wait"], server.remote),
      orion(["flow-run", "cancel", pending.id, "--json"], server.remote)
    ])
    expect(s.code, s.stderr).toBe(0)
    expect(s.stdout.trim()).toBe(`Flow run '${scheduled.name}' (${scheduled.id}) had not started running (Scheduled): it is Cancelled.`)
    expect(p.code, p.stderr).toBe(0)
    expect(JSON.parse(p.stdout)).toMatchObject({ flow_run_id: pending.id, state: { type: "CANCELLED", name: "Cancelled", message: "Cancelled from the command line" } })
    for (const run of [scheduled, pending]) {
      expect((await server.api("GET", `/flow_runs/${run.id}`)).state_type).toBe("CANCELLED")
      const decisions = await server.api("GET", `/flow_runs/${run.id}/decisions`) as Array<{ status: string; rule: string | null; proposed_type: string }>
      expect(decisions.at(-1)).toMatchObject({ status: "REJECT", rule: "CancelRunsNotYetRunning", proposed_type: "CANCELLING" })
    }
  })

  it("a run whose process is gone: cancel says so; --force marks it, its subflow and its unfinished task runs Cancelled", async () => {
    const flow = await server.api("POST", "/flows/", { name: "cli-cancel-orphan" })
    const running = { state: { type: "RUNNING" } }
    const run = await server.api("POST", "/flow_runs/", { flow_id: flow.id, ...running })
    const task = await server.api("POST", "/task_runs/", { flow_run_id: run.id, task_key: "a", dynamic_key: "0", ...running })
    const done = await server.api("POST", "/task_runs/", { flow_run_id: run.id, task_key: "b", dynamic_key: "0", state: { type: "COMPLETED" } })
    const placeholder = await server.api("POST", "/task_runs/", { flow_run_id: run.id, task_key: "subflow:child", dynamic_key: "0", ...running })
    const sub = await server.api("POST", "/flow_runs/", { flow_id: flow.id, parent_task_run_id: placeholder.id, ...running })
    const subTask = await server.api("POST", "/task_runs/", { flow_run_id: sub.id, task_key: "c", dynamic_key: "0", ...running })
    // No process heartbeats these runs: with a 1 s heartbeat interval, they are silent after 3 s.
    await new Promise((resolve) => setTimeout(resolve, 3500))
    const asked = await orion(["flow-run", "cancel", run.id], { ...server.remote, ORION_HEARTBEAT_INTERVAL: "1" })
    expect(asked.code, asked.stderr).toBe(0)
    expect(asked.stdout).toMatch(new RegExp(`is Cancelling: .* Its process last reported \\d+s ago and may be gone: \`orion flow-run cancel ${run.id} --force\` marks it Cancelled without it\\.$`, "m"))

    const forced = await orion(["flow-run", "cancel", run.id, "--force", "--json"], server.remote)
    expect(forced.code, forced.stderr).toBe(0)
    expect(JSON.parse(forced.stdout)).toMatchObject({ flow_run_id: run.id, state: { type: "CANCELLED" }, forced: { taskRuns: 2, subflowRuns: 1 } })
    const typeOf = async (kind: string, id: string) => (await server.api("GET", `/${kind}/${id}`)).state_type as string
    expect(await Promise.all([
      typeOf("flow_runs", run.id), typeOf("task_runs", task.id), typeOf("task_runs", done.id), typeOf("task_runs", placeholder.id),
      typeOf("flow_runs", sub.id), typeOf("task_runs", subTask.id)
    ])).toEqual(["CANCELLED", "CANCELLED", "COMPLETED", "CANCELLED", "CANCELLED", "CANCELLED"])
  })

  it("refuses a bad id, an unknown run and a finished run in one line each, exit 1", async () => {
    const flow = await server.api("POST", "/flows/", { name: "cli-cancel-finished" })
    const done = await server.api("POST", "/flow_runs/", { flow_id: flow.id, state: { type: "COMPLETED" } })
    const cases: ReadonlyArray<[ReadonlyArray<string>, RegExp]> = [
      [["flow-run", "cancel", "nope"], /^'nope' is not a flow run id: ids are UUIDs/],
      [["flow-run", "cancel", "0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10"], /^No flow run with id 0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10$/],
      [["flow-run", "cancel", done.id], /^Flow run '\S+' has already finished \(Completed\): there is nothing to cancel$/]
    ]
    await Promise.all(cases.map(async ([args, message]) => {
      const r = await orion(args, server.remote)
      expect(r.code, args.join(" ")).toBe(1)
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
      expect(r.stderr.trim(), args.join(" ")).toMatch(message)
    }))
    const help = await orion(["flow-run", "cancel", "--help"], server.remote)
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^\$ orion flow-run cancel /m)
    expect(help.stdout).toContain("--wait")
  })
})
