/**
 * The `orion` command as a user runs it (a child process of bin/orion.js): the daily-work commands on a real SQLite
 * file (local mode) and against a real server on 127.0.0.1 (`ORION_API_URL`), its refusals of bad arguments, and its
 * help as a pipe sees it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { adjustHelp, commandPathOf, stripAnsi, useColour } from "../../src/cli/output.js"
import { cleanEnv } from "../support/env.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const bin = path.join(root, "bin", "orion.js")
const fixture = path.join(root, "test", "fixtures", "cli-flows.ts")

interface Ran { readonly code: number | null; readonly stdout: string; readonly stderr: string }

// A liveness limit, not a speed bar: seven of these start at once in the refusals test, each loading Orion through tsx.
const run = (args: ReadonlyArray<string>, env: Record<string, string>, timeout = 150_000) =>
  new Promise<Ran>((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: cleanEnv(env), timeout }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

const script = (mode: string, env: Record<string, string>) =>
  new Promise<Ran>((resolve) => {
    execFile(process.execPath, ["--import", "tsx", fixture, mode], { cwd: root, env: cleanEnv(env), timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const port = (s.address() as net.AddressInfo).port
    s.close(() => resolve(port))
  })
})

interface RunRow { readonly id: string; readonly name: string; readonly flow_id: string; readonly state_type: string }

let home: string
let seedStderr = ""
const local = () => ({ ORION_HOME: home })

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "orion-cli-"))
  const seeded = await script("seed", local())
  expect(seeded.code, seeded.stderr).toBe(0)
  expect(JSON.parse(seeded.stdout.trim().split("\n").at(-1)!)).toEqual({ ok: "COMPLETED", bad: "FAILED" })
  seedStderr = seeded.stderr
}, 120_000)

afterAll(() => {
  if (home !== undefined) fs.rmSync(home, { recursive: true, force: true })
})

// Each command is a fresh Node process loading Orion through tsx: seconds each on a busy machine.
const slow = { timeout: 180_000 }

describe("orion flow-run / task-run / flow on the local database", slow, () => {
  it("flow-run ls: a table of runs, filtered by state and flow, and --json", async () => {
    const all = await run(["flow-run", "ls"], local())
    expect(all.code, all.stderr).toBe(0)
    const lines = all.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^FLOW\s+NAME\s+ID\s+STATE\s+WHEN$/)
    expect(lines).toHaveLength(3)
    expect(all.stdout).toMatch(/cli-etl\s+\S+\s+[0-9a-f-]{36}\s+Completed\s+\d+[smhd] ago/)
    expect(all.stdout).toMatch(/cli-broken\s+\S+\s+[0-9a-f-]{36}\s+Failed/)

    const failed = await run(["flow-run", "ls", "--state", "failed", "--json"], local())
    expect(failed.code, failed.stderr).toBe(0)
    const failedRuns = JSON.parse(failed.stdout) as Array<RunRow>
    expect(failedRuns.map((r) => r.state_type)).toEqual(["FAILED"])

    const byFlow = JSON.parse((await run(["flow-run", "ls", "--flow", "cli-etl", "--json"], local())).stdout) as Array<RunRow>
    expect(byFlow.map((r) => r.state_type)).toEqual(["COMPLETED"])
    const limited = JSON.parse((await run(["flow-run", "ls", "--limit", "1", "--json"], local())).stdout) as Array<RunRow>
    expect(limited).toHaveLength(1)
    const none = await run(["flow-run", "ls", "--state", "running"], local())
    expect(none.stdout.trim()).toBe("No flow runs.")
  })

  it("flow-run inspect: state history with decisions, and task runs; task-run inspect: the retry's rule and reason", async () => {
    const [ok] = JSON.parse((await run(["flow-run", "ls", "--flow", "cli-etl", "--json"], local())).stdout) as Array<RunRow>
    const shown = await run(["flow-run", "inspect", ok!.id], local())
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain(`Flow run '${ok!.name}' of flow 'cli-etl'`)
    expect(shown.stdout).toMatch(/RUNNING → COMPLETED\s+ACCEPT\s+Completed/)
    expect(shown.stdout).toMatch(/flaky-0\s+[0-9a-f-]{36}\s+Completed\s+2\s/)

    const detail = JSON.parse((await run(["flow-run", "inspect", ok!.id, "--json"], local())).stdout) as {
      flow_run: RunRow; decisions: Array<{ status: string }>; task_runs: Array<{ id: string; name: string }>; states: Array<unknown>
    }
    expect(detail.flow_run.id).toBe(ok!.id)
    expect(detail.decisions.map((d) => d.status)).toEqual(["ACCEPT", "ACCEPT", "ACCEPT"])
    expect(detail.states).toHaveLength(3)
    const taskRun = detail.task_runs[0]!
    const task = await run(["task-run", "inspect", taskRun.id], local())
    expect(task.code, task.stderr).toBe(0)
    expect(task.stdout).toContain(`Task run '${taskRun.name}'`)
    expect(task.stdout).toMatch(/RUNNING → FAILED\s+REJECT\s+AwaitingRetry \(SCHEDULED\)\s+RetryFailedTasks\s+Retrying/)
  })

  it("flow-run logs prints the run's log lines (and --json one object a line)", async () => {
    const [ok] = JSON.parse((await run(["flow-run", "ls", "--flow", "cli-etl", "--json"], local())).stdout) as Array<RunRow>
    const logs = await run(["flow-run", "logs", ok!.id], local())
    expect(logs.code, logs.stderr).toBe(0)
    expect(logs.stdout).toMatch(/^\S+Z INFO\s+orion\.flow_runs\.cli-etl \| etl starting with 21$/m)
    expect(logs.stdout).toMatch(/orion\.task_runs\.flaky \| flaky attempt 1 for 21/)
    expect(logs.stdout).toMatch(/flaky attempt 2 for 21/)
    const lines = (await run(["flow-run", "logs", ok!.id, "--json"], local())).stdout.trim().split("\n").map((l) => JSON.parse(l) as { message: string })
    // The flow's own lines, between what Orion logs about the runs (created, the failed attempt and its retry, finished).
    const own = lines.map((l) => l.message).filter((m) => !/^(Created flow run|Task run '|Flow run ')/.test(m))
    expect(own).toEqual(["etl starting with 21", "flaky attempt 1 for 21", "flaky attempt 2 for 21"])
    expect(lines[0]!.message).toMatch(/^Created flow run '\S+' \(\S+\) for flow 'cli-etl'$/)
    expect(lines.some((l) => /^Task run 'flaky-0' failed \(attempt 1 of \d\)/.test(l.message))).toBe(true)
    expect(lines.at(-1)!.message).toMatch(/^Flow run '\S+' \(\S+\) finished in state Completed$/)
  })

  it("flow ls lists the flows", async () => {
    const flows = await run(["flow", "ls"], local())
    expect(flows.code, flows.stderr).toBe(0)
    expect(flows.stdout).toMatch(/^NAME\s+ID\s+CREATED\s+TAGS$/m)
    expect(flows.stdout).toMatch(/^cli-etl\s/m)
    expect(flows.stdout).toMatch(/^cli-broken\s/m)
  })

  it("flow-run retry refuses a run that no agent could run again, in one line", async () => {
    const [bad] = JSON.parse((await run(["flow-run", "ls", "--state", "failed", "--json"], local())).stdout) as Array<RunRow>
    const retried = await run(["flow-run", "retry", bad!.id], local())
    expect(retried.code).toBe(1)
    expect(retried.stderr.trim()).toBe(`Flow run '${bad!.name}' was not created from a deployment, so no agent can run it again: run its flow again instead`)
  })
})

describe("a script that runs flows reports how they ended, on stderr", slow, () => {
  it("a completed flow run at INFO; a failed one at ERROR with its failed task run and error", () => {
    expect(seedStderr).toMatch(/^\S+Z INFO orion\.flow_runs\.cli-etl - Flow run '\S+' \([0-9a-f-]{36}\) finished in state Completed$/m)
    expect(seedStderr).toMatch(/^\S+Z ERROR orion\.task_runs\.doomed - Task run 'doomed-0' finished in state Failed: .*broken on purpose/m)
    expect(seedStderr).toMatch(/^\S+Z ERROR orion\.flow_runs\.cli-broken - Flow run '\S+' \([0-9a-f-]{36}\) finished in state Failed: .*broken on purpose/m)
  })
  it("ORION_REPORT_RUNS=false keeps the flow runs' final lines out", async () => {
    const quiet = await script("seed", { ORION_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "orion-cli-quiet-")), ORION_REPORT_RUNS: "false" })
    expect(quiet.code, quiet.stderr).toBe(0)
    expect(quiet.stderr).not.toMatch(/Flow run .* finished in state/)
  })
})

describe("orion's refusals and help", slow, () => {
  it("a bad id, an unknown id, a bad port, a bad state: one line each, exit 1", async () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, RegExp]> = [
      [["flow-run", "inspect", "not-a-uuid"], /^'not-a-uuid' is not a flow run id: ids are UUIDs/],
      [["task-run", "inspect", "1234"], /^'1234' is not a task run id/],
      [["flow-run", "inspect", "0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10"], /^No flow run with id 0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10$/],
      [["start", "--port", "99999"], /^--port must be a port number from 1 to 65535, got 99999$/],
      [["start", "--port", "0"], /^--port must be a port number from 1 to 65535, got 0$/],
      [["flow-run", "ls", "--state", "done"], /^--state 'done' is not a state type: use one of scheduled, pending/],
      [["flow-run", "ls", "--limit", "500"], /^--limit must be between 1 and 200, got 500$/]
    ]
    await Promise.all(cases.map(async ([args, message]) => {
      const r = await run(args, local())
      expect(r.code, args.join(" ")).toBe(1)
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
      expect(r.stderr.trim(), args.join(" ")).toMatch(message)
      expect(r.stderr).not.toMatch(/\bat \S+ \(/)
    }))
  })

  it("--help through a pipe: no colour codes, usage reads `orion …`", async () => {
    const help = await run(["flow-run", "ls", "--help"], local())
    expect(help.code).toBe(0)
    expect(help.stdout).not.toContain("\u001b[")
    expect(help.stdout).toMatch(/^\$ orion flow-run ls /m)
    const start = await run(["start", "--help"], { ...local(), NO_COLOR: "1" })
    expect(start.stdout).not.toContain("\u001b[")
    expect(start.stdout).toMatch(/^\$ orion start /m)
  })

  it("colour only on a terminal without NO_COLOR; usage lines get the whole command", () => {
    expect(useColour({ isTTY: true }, {})).toBe(true)
    expect(useColour({ isTTY: true }, { NO_COLOR: "1" })).toBe(false)
    expect(useColour({ isTTY: false }, {})).toBe(false)
    expect(useColour({}, {})).toBe(false)
    const coloured = "\u001b[0;1mUSAGE\u001b[0m\n\n$ ls [--json]\n"
    expect(adjustHelp(coloured, ["flow-run", "ls"], false)).toBe("USAGE\n\n$ orion flow-run ls [--json]\n")
    expect(stripAnsi(adjustHelp(coloured, ["flow-run", "ls"], true))).toBe("USAGE\n\n$ orion flow-run ls [--json]\n")
    expect(commandPathOf(["flow-run", "inspect", "x", "--help"], new Set(["flow-run", "inspect"]))).toEqual(["flow-run", "inspect"])
  })

  it("config view shows every setting, masking secrets", async () => {
    const r = await run(["config", "view"], { ...local(), ORION_API_KEY: "s3cret-key", ORION_DATABASE_URL: "postgres://orion:hunter2@db.example:5432/orion" })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).not.toContain("s3cret-key")
    expect(r.stdout).not.toContain("hunter2")
    expect(r.stdout).toMatch(/^ORION_API_KEY\s+\*{8}\s+environment$/m)
    expect(r.stdout).toMatch(/^ORION_DATABASE_URL\s+postgres:\/\/orion:\*+@db\.example:5432\/orion\s+environment$/m)
    expect(r.stdout).toMatch(new RegExp(`^ORION_HOME\\s+${home.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s+environment$`, "m"))
    expect(r.stdout).toMatch(/^ORION_API_PORT\s+4200\s+default$/m)
    const json = JSON.parse((await run(["config", "view", "--json"], { ...local(), ORION_API_KEY: "s3cret-key" })).stdout) as Record<string, { value: string }>
    expect(json.ORION_API_KEY?.value).toBe("********")
    expect(r.stdout).toMatch(/^ORION_LOG_FORMAT\s+pretty\s+default$/m)
    expect(r.stdout).toMatch(/^ORION_OTLP_ENDPOINT\s+\(unset: tracing off\)\s+default$/m)
    const bad = await run(["config", "view"], { ...local(), ORION_LOG_FORMAT: "xml" })
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim()).toMatch(/^Invalid setting: .*ORION_LOG_FORMAT must be one of pretty, logfmt, json; got 'xml'/)
    expect(bad.stderr.trim().split("\n")).toHaveLength(1)
  })
})

describe("orion against a server (ORION_API_URL)", slow, () => {
  let server: ChildProcess | undefined
  let remote: Record<string, string>

  beforeAll(async () => {
    const port = await freePort()
    server = spawn(process.execPath, [bin, "start", "--port", String(port), "--no-services", "--no-ui"], {
      cwd: root, env: cleanEnv({ ...local(), ORION_API_KEY: "test-key" }), stdio: ["ignore", "pipe", "pipe"]
    })
    remote = { ORION_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "orion-cli-client-")), ORION_API_URL: `http://127.0.0.1:${port}/api`, ORION_API_KEY: "test-key" }
    for (let i = 0; i < 300; i++) {
      const up = await fetch(`http://127.0.0.1:${port}/api/health`, { headers: { authorization: "Bearer test-key" } }).then((r) => r.ok, () => false)
      if (up) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error("orion start did not answer")
  }, 60_000)

  afterAll(() => {
    server?.kill("SIGTERM")
  })

  it("lists the same runs as the local database", async () => {
    const there = JSON.parse((await run(["flow-run", "ls", "--json"], remote)).stdout) as Array<RunRow>
    const here = JSON.parse((await run(["flow-run", "ls", "--json"], local())).stdout) as Array<RunRow>
    expect(there.map((r) => r.id).sort()).toEqual(here.map((r) => r.id).sort())
    const wrongKey = await run(["flow-run", "ls"], { ...remote, ORION_API_KEY: "wrong" })
    expect(wrongKey.code).toBe(1)
  })

  it("flow-run logs --follow prints lines as they come, then the final state", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", fixture, "slow"], { cwd: root, env: cleanEnv(remote), stdio: ["ignore", "pipe", "pipe"] })
    const id = await new Promise<string>((resolve, reject) => {
      let out = ""
      child.stdout.on("data", (d) => {
        out += d
        const m = /\{"id":"([0-9a-f-]{36})"\}/.exec(out)
        if (m) resolve(m[1]!)
      })
      child.on("close", (code) => reject(new Error(`the slow flow ended (${code}) before printing its id`)))
    })
    const followed = await run(["flow-run", "logs", id, "--follow"], remote)
    expect(followed.code, followed.stderr).toBe(0)
    expect(followed.stdout).toMatch(/INFO\s+orion\.flow_runs\.cli-slow \| the late line/)
    expect(followed.stdout.trim().split("\n").at(-1)).toMatch(/^Flow run '.+' finished in state Completed\.$/)
  })

  it("flow-run retry reschedules a finished run of a deployment", async () => {
    const api = remote.ORION_API_URL!
    const call = async (method: string, route: string, body?: unknown) => {
      const r = await fetch(`${api}${route}`, {
        method, headers: { authorization: "Bearer test-key", "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      return r.json() as Promise<Record<string, unknown>>
    }
    const flowRow = await call("POST", "/flows/", { name: "cli-deployed" })
    const deployment = await call("POST", "/deployments/", { name: "nightly", flow_id: flowRow.id, flow_data: { encoding: "json", blob: "{}" } })
    expect(deployment.id, JSON.stringify(deployment)).toBeDefined()
    const flowRun = await call("POST", `/deployments/${String(deployment.id)}/create_flow_run`, {})
    await call("POST", `/flow_runs/${String(flowRun.id)}/set_state`, { state: { type: "FAILED", name: "Failed" }, force: true })
    const retried = await run(["flow-run", "retry", String(flowRun.id)], remote)
    expect(retried.code, retried.stderr).toBe(0)
    expect(retried.stdout).toContain("is AwaitingRetry")
    const after = JSON.parse((await run(["flow-run", "inspect", String(flowRun.id), "--json"], remote)).stdout) as { flow_run: { state_type: string; state_name: string } }
    expect(after.flow_run).toMatchObject({ state_type: "SCHEDULED", state_name: "AwaitingRetry" })
    const again = await run(["flow-run", "retry", String(flowRun.id)], remote)
    expect(again.code).toBe(1)
    expect(again.stderr.trim()).toMatch(/is SCHEDULED: only a finished run .* can be retried$/)
  })
})
