/**
 * `orion deployment ls | inspect | run | pause | resume | delete` and `orion concurrency-limit create | ls | inspect |
 * delete` as a user runs them: on the local SQLite home and against a real server on the same home, with the runs'
 * states moved through the server's API as an agent would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshHome, orion, orionRunning, type Server, startServer } from "./harness.js"

let home: string
let server: Server
let hourly: { id: string }
let manual: { id: string }
const local = () => ({ ORION_HOME: home })

beforeAll(async () => {
  home = freshHome()
  server = await startServer(home)
  const flow = await server.api("POST", "/flows/", { name: "cli-dep" })
  const flowData = { encoding: "json", blob: "{\"path\":\"flows/etl.ts\"}" }
  hourly = await server.api("POST", "/deployments/", {
    name: "hourly", flow_id: flow.id, flow_data: flowData, schedule: { interval: 3600 }, parameters: { n: 1, who: "x", keep: "me" }, tags: ["nightly"]
  }, 201)
  manual = await server.api("POST", "/deployments/", { name: "manual", flow_id: flow.id, flow_data: flowData }, 201)
}, 120_000)

afterAll(() => server?.stop())

const slow = { timeout: 480_000 }

interface Inspected { readonly deployment: { id: string; is_schedule_active: boolean }; readonly name: string; readonly scheduled_runs: Array<{ id: string; state_type: string; next_scheduled_start_time: string }> }

const setState = (runId: string, type: string, message?: string) =>
  server.api("POST", `/flow_runs/${runId}/set_state`, { state: { type, message: message ?? null } })

describe("orion deployment", slow, () => {
  it("ls lists flow/deployment, schedule and status; inspect shows one (by name or id) with its next scheduled runs", async () => {
    const [ls, lsJson, byName, byId, none] = await Promise.all([
      orion(["deployment", "ls"], local()),
      orion(["deployment", "ls", "--flow", "cli-dep", "--json"], server.remote),
      orion(["deployment", "inspect", "cli-dep/hourly"], local()),
      orion(["deployment", "inspect", hourly.id, "--next", "3", "--json"], server.remote),
      orion(["deployment", "ls", "--flow", "no-such-flow"], server.remote)
    ])
    expect(ls.code, ls.stderr).toBe(0)
    expect(ls.stdout).toMatch(/^DEPLOYMENT\s+ID\s+SCHEDULE\s+STATUS\s+TAGS$/m)
    expect(ls.stdout).toMatch(new RegExp(`^cli-dep/hourly\\s+${hourly.id}\\s+every 1h\\s+active\\s+nightly$`, "m"))
    expect(ls.stdout).toMatch(new RegExp(`^cli-dep/manual\\s+${manual.id}\\s+-\\s+active$`, "m"))
    expect((JSON.parse(lsJson.stdout) as Array<{ id: string }>).map((d) => d.id).sort()).toEqual([hourly.id, manual.id].sort())
    expect(none.stdout.trim()).toBe("No deployments.")

    expect(byName.code, byName.stderr).toBe(0)
    expect(byName.stdout).toContain("Deployment 'cli-dep/hourly'")
    expect(byName.stdout).toMatch(/^ {2}schedule {4}every 1h$/m)
    expect(byName.stdout).toMatch(/^ {2}status {6}active$/m)
    expect(byName.stdout).toMatch(/^ {2}parameters {2}\{"n":1,"who":"x","keep":"me"\}$/m)
    expect(byName.stdout).toMatch(/^ {2}tags {8}nightly$/m)
    expect(byName.stdout).toMatch(/^ {2}work queue {2}default$/m)
    expect(byName.stdout).toMatch(/^ {2}retries {5}none$/m)
    expect(byName.stdout).toMatch(/^ {2}catch-up {4}none: missed runs all run, however late$/m)
    expect(byName.stdout).toMatch(/^ {2}overlap {5}allow: a run starts even while an earlier one is under way$/m)
    expect(byName.stdout).toContain("Next scheduled runs (5):")
    expect(byName.stdout.match(/^\S+\s+[0-9a-f-]{36}\s+Scheduled\s+\S+Z\s+in \d+[smhd]$/gm)).toHaveLength(5)

    expect(byId.code, byId.stderr).toBe(0)
    const detail = JSON.parse(byId.stdout) as Inspected
    expect(detail.name).toBe("cli-dep/hourly")
    expect(detail.deployment.id).toBe(hourly.id)
    expect(detail.scheduled_runs).toHaveLength(3)
    const times = detail.scheduled_runs.map((r) => Date.parse(r.next_scheduled_start_time))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(times[1]! - times[0]!).toBe(3600_000)
  })

  it("pause stops the schedule and removes its scheduled runs; resume schedules them again", async () => {
    const paused = await orion(["deployment", "pause", "cli-dep/hourly"], server.remote)
    expect(paused.code, paused.stderr).toBe(0)
    expect(paused.stdout.trim()).toMatch(/^Deployment 'cli-dep\/hourly' is paused: its schedule makes no runs until `orion deployment resume cli-dep\/hourly`/)
    const [after, again, shown] = await Promise.all([
      orion(["deployment", "inspect", hourly.id, "--json"], local()),
      orion(["deployment", "pause", hourly.id], local()),
      orion(["deployment", "ls"], local())
    ])
    const detail = JSON.parse(after.stdout) as Inspected
    expect(detail.deployment.is_schedule_active).toBe(false)
    expect(detail.scheduled_runs).toEqual([])
    expect(again.stdout.trim()).toBe("Deployment 'cli-dep/hourly' is already paused.")
    expect(shown.stdout).toMatch(/^cli-dep\/hourly\s+\S+\s+every 1h\s+paused\s+nightly$/m)

    const resumed = await orion(["deployment", "resume", "cli-dep/hourly"], local())
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout.trim()).toMatch(/^Deployment 'cli-dep\/hourly' is active: every 1h, next run at \S+Z\.$/)
    const back = JSON.parse((await orion(["deployment", "inspect", hourly.id, "--json"], server.remote)).stdout) as Inspected
    expect(back.deployment.is_schedule_active).toBe(true)
    expect(back.scheduled_runs).toHaveLength(5)
  })

  it("run creates a flow run scheduled now, --param values JSON when they parse, else text, over the deployment's", async () => {
    const [viaJson, viaText] = await Promise.all([
      orion(["deployment", "run", "cli-dep/hourly", "-p", "n=5", "--param", "who=world", "-p", "cfg={\"a\":[1,2]}", "-p", "flag=true", "-p", "note=not json", "-t", "adhoc", "--json"], server.remote),
      orion(["deployment", "run", manual.id], local())
    ])
    expect(viaJson.code, viaJson.stderr).toBe(0)
    const run = JSON.parse(viaJson.stdout) as { id: string; deployment_id: string; parameters: unknown; tags: Array<string>; state: { type: string; message: string; state_details: { scheduled_time: string } } }
    expect(run.deployment_id).toBe(hourly.id)
    expect(run.parameters).toEqual({ n: 5, who: "world", keep: "me", cfg: { a: [1, 2] }, flag: true, note: "not json" })
    expect([...run.tags].sort()).toEqual(["adhoc", "nightly"])
    expect(run.state).toMatchObject({ type: "SCHEDULED", message: "Run requested from the command line" })
    expect(Math.abs(Date.parse(run.state.state_details.scheduled_time) - Date.now())).toBeLessThan(120_000)

    expect(viaText.code, viaText.stderr).toBe(0)
    const [, id] = /^Created flow run '\S+' \(([0-9a-f-]{36})\) of deployment 'cli-dep\/manual', scheduled now: an agent will run it\.$/m.exec(viaText.stdout) ?? []
    expect((await server.api("GET", `/flow_runs/${id}`)).state_type).toBe("SCHEDULED")
  })

  it("run --watch follows the run's states to its end: exit 0 when it completed, 1 with its message when not", async () => {
    const completing = orionRunning(["deployment", "run", "cli-dep/manual", "--watch"], server.remote)
    const failing = orionRunning(["deployment", "run", "cli-dep/manual", "--watch"], local())
    const created = /^Created flow run '(\S+)' \(([0-9a-f-]{36})\)/m
    const [[, okName, okId], [, badName, badId]] = await Promise.all([completing.waitFor(created), failing.waitFor(created)])
    // As an agent would: take the runs, run them, end them.
    for (const id of [okId!, badId!]) {
      await setState(id, "PENDING")
      await setState(id, "RUNNING")
    }
    await setState(okId!, "COMPLETED")
    await setState(badId!, "FAILED", "boom")
    const [ok, bad] = await Promise.all([completing.done, failing.done])
    expect(ok.code, ok.stderr).toBe(0)
    const lines = ok.stdout.trim().split("\n")
    expect(lines.filter((l) => /^\S+Z {2}\S/.test(l)).map((l) => l.split(/\s+/)[1])).toEqual(["Scheduled", "Pending", "Running", "Completed"])
    expect(lines.at(-1)).toBe(`Flow run '${okName}' finished in state Completed.`)
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/^\S+Z {2}Failed — boom$/m)
    expect(bad.stderr.trim()).toBe(`Flow run '${badName}' finished in state Failed: boom`)
  })

  it("delete deletes the deployment and its runs still scheduled; runs that started are kept", async () => {
    const [started] = await server.api("POST", "/flow_runs/filter", { deployments: { id: { any_: [manual.id] } }, flow_runs: { state: { type: { any_: ["COMPLETED"] } } } }) as Array<{ id: string }>
    const scheduled = await server.api("POST", "/flow_runs/filter", { deployments: { id: { any_: [manual.id] } }, flow_runs: { state: { type: { any_: ["SCHEDULED"] } } } }) as Array<{ id: string }>
    expect(started).toBeDefined()
    expect(scheduled.length).toBeGreaterThan(0)
    const deleted = await orion(["deployment", "delete", "cli-dep/manual"], local())
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(deleted.stdout.trim()).toBe(`Deleted deployment 'cli-dep/manual' (${manual.id}); its scheduled runs that had not started were deleted with it, the others are kept.`)
    const gone = await orion(["deployment", "inspect", "cli-dep/manual"], server.remote)
    expect(gone.code).toBe(1)
    expect(gone.stderr.trim()).toBe("No deployment named 'cli-dep/manual' (give <flow name>/<deployment name>; `orion deployment ls` lists them)")
    for (const run of scheduled) await server.api("GET", `/flow_runs/${run.id}`, undefined, 404)
    expect((await server.api("GET", `/flow_runs/${started!.id}`)).deployment_id).toBeNull()
  })

  it("refuses bad arguments and unknown deployments in one line each, exit 1", async () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, RegExp]> = [
      [["deployment", "inspect", "hourly"], /^'hourly' is not a deployment: give its id \(a UUID\) or <flow name>\/<deployment name>/],
      [["deployment", "inspect", "nope/nope"], /^No deployment named 'nope\/nope'/],
      [["deployment", "pause", "0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10"], /^No deployment with id 0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10$/],
      [["deployment", "run", "cli-dep/hourly", "-p", "novalue"], /^--param 'novalue' must be key=value/],
      [["deployment", "run", "cli-dep/hourly", "-p", "n=1", "-p", "n=2"], /^--param 'n' is given twice$/],
      [["deployment", "run", "cli-dep/hourly", "-p", "n=1e400"], /^--param 'n': 1e400 is too large a number for JSON$/],
      [["deployment", "inspect", "cli-dep/hourly", "--next", "500"], /^--next must be between 0 and 200, got 500$/]
    ]
    await Promise.all(cases.map(async ([args, message]) => {
      const r = await orion(args, server.remote)
      expect(r.code, args.join(" ")).toBe(1)
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
      expect(r.stderr.trim(), args.join(" ")).toMatch(message)
    }))
    const help = await orion(["deployment", "run", "--help"], local())
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^\$ orion deployment run /m)
    expect(help.stdout).toContain("--param")
  })
})

describe("orion concurrency-limit", slow, () => {
  it("create, change, ls, inspect (with the task runs holding its slots), delete", async () => {
    const created = await orion(["concurrency-limit", "create", "db", "2"], local())
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout.trim()).toMatch(/^Created a concurrency limit on tag 'db' \([0-9a-f-]{36}\): at most 2 task runs tagged 'db' may run at once\.$/)
    const changed = await orion(["concurrency-limit", "create", "db", "3"], server.remote)
    expect(changed.stdout.trim()).toBe("Changed the concurrency limit on tag 'db' from 2 to 3: at most 3 task runs tagged 'db' may run at once (0 running now).")

    // A task run tagged db takes a slot when it runs.
    const flow = await server.api("POST", "/flows/", { name: "cli-limited" })
    const flowRun = await server.api("POST", "/flow_runs/", { flow_id: flow.id })
    const taskRun = await server.api("POST", "/task_runs/", { flow_run_id: flowRun.id, task_key: "query", dynamic_key: "0", tags: ["db"] })
    expect((await server.api("POST", `/task_runs/${taskRun.id}/set_state`, { state: { type: "RUNNING" } })).status).toBe("ACCEPT")

    const [ls, lsJson, inspect, inspectJson] = await Promise.all([
      orion(["concurrency-limit", "ls"], server.remote),
      orion(["concurrency-limit", "ls", "--json"], local()),
      orion(["concurrency-limit", "inspect", "db"], local()),
      orion(["concurrency-limit", "inspect", "db", "--json"], server.remote)
    ])
    expect(ls.stdout).toMatch(/^TAG\s+LIMIT\s+RUNNING\s+ID\s+UPDATED$/m)
    expect(ls.stdout).toMatch(/^db\s+3\s+1\/3\s+[0-9a-f-]{36}\s+\S+Z$/m)
    expect(JSON.parse(lsJson.stdout)).toMatchObject([{ tag: "db", concurrency_limit: 3, active_slots: [taskRun.id] }])
    expect(inspect.stdout).toContain("Concurrency limit on tag 'db'")
    expect(inspect.stdout).toMatch(/^ {2}running {3}1\/3$/m)
    expect(inspect.stdout).toMatch(new RegExp(`^${taskRun.name}\\s+${taskRun.id}\\s+${flowRun.id}\\s+Running$`, "m"))
    expect(JSON.parse(inspectJson.stdout)).toMatchObject({ concurrency_limit: { tag: "db" }, running_task_runs: [{ id: taskRun.id }] })

    const deleted = await orion(["concurrency-limit", "delete", "db"], server.remote)
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(deleted.stdout.trim()).toBe("Deleted the concurrency limit on tag 'db': task runs with this tag are no longer limited.")
    const none = await orion(["concurrency-limit", "ls"], local())
    expect(none.stdout.trim()).toBe("No concurrency limits.")
  })

  it("refuses bad limits and unknown tags in one line each, exit 1", async () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, RegExp]> = [
      [["concurrency-limit", "create", "db", "-1"], /^The limit must be a whole number from 0 to 2147483647, got '-1'$/],
      [["concurrency-limit", "create", "db", "lots"], /^The limit must be a whole number from 0 to 2147483647, got 'lots'$/],
      [["concurrency-limit", "create", "db"], /^Missing argument <limit>/],
      [["concurrency-limit", "create", "x".repeat(401), "1"], /^The tag must be at most 400 characters, got 401$/],
      [["concurrency-limit", "inspect", "nope"], /^No concurrency limit on tag 'nope'$/],
      [["concurrency-limit", "delete", "nope"], /^No concurrency limit on tag 'nope'$/]
    ]
    await Promise.all(cases.map(async ([args, message]) => {
      const r = await orion(args, server.remote)
      expect(r.code, args.join(" ")).toBe(1)
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
      expect(r.stderr.trim(), args.join(" ")).toMatch(message)
    }))
    const help = await orion(["concurrency-limit", "--help"], local())
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/- create \[--json\] <tag> <limit>/)
  })
})
