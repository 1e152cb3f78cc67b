/**
 * Executor processes reused for several runs, as a user runs them — `orion start` (SQLite), deployments registered with
 * `orion deployment create`, `orion agent start` with one run at a time and `ORION_AGENT_EXECUTOR_MAX_RUNS=3`. Each
 * flow records the process id that ran it: completed runs share a process up to the cap; a process above the memory
 * cap, or idle too long, is retired; a failed, cancelled or killed run's process is retired (its run ends Failed,
 * Cancelled, Crashed); a flow module edited on disk runs its new code in a new process (warm ones import it ahead).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tempDir } from "../support/databases.js"
import { freePort } from "../support/ports.js"
import { getJson as get, launch, orion, postJson as post, root, type Running, stop, waitFor as waitEvery } from "../support/orion-processes.js"

const flows = path.join(root, "test", "fixtures", "reuse-flows.ts")
const waitFor = <A>(what: string, ms: number, check: () => Promise<A | undefined>, context: () => string) => waitEvery(what, ms, check, context, 300)

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

interface RunRow { readonly id: string; readonly name: string; readonly state_type: string | null; readonly state_name: string | null; readonly state: { readonly message: string | null } | null }

const slow = { timeout: 600_000 }

describe("executors reused for several runs (orion start on SQLite, orion agent start)", slow, () => {
  let home: string
  let api: string
  let server: Running
  let agent: Running
  let log: string
  /** Where the editable module writes `<pid> loaded <version>` each time a process imports it. */
  let loads: string
  /** A flow module of this test's own, edited between runs (inside the repository, so that it finds `effect` and Orion). */
  let editable: string
  const context = () => `--- server\n${server.output()}\n--- agent\n${agent.output()}`

  const deploymentId = async (flow: string, name: string) => (await get<{ id: string }>(`${api}/deployments/name/${flow}/${name}`)).id
  /** A run of the deployment, Scheduled now, as the UI's Run does. */
  const runOf = (deployment: string, parameters?: Record<string, unknown>) =>
    post<RunRow>(`${api}/deployments/${deployment}/create_flow_run`, { state: { type: "SCHEDULED" }, ...(parameters === undefined ? {} : { parameters }) })
  const ended = (run: RunRow) => waitFor(`run '${run.name}' to end`, 120_000, async () => {
    const now = await get<RunRow>(`${api}/flow_runs/${run.id}`)
    return ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"].includes(now.state_type ?? "") ? now : undefined
  }, context)
  /** The process that ran `run` and what it wrote after its pid, from the flows' log. */
  const ranBy = (run: RunRow) => {
    const line = fs.readFileSync(log, "utf8").split("\n").find((l) => l.startsWith(`${run.id} `))
    if (line === undefined) throw new Error(`run '${run.name}' did not record its process`)
    const [, pid, ...rest] = line.split(" ")
    return { pid: Number(pid), note: rest.join(" ") }
  }
  const completedBy = async (deployment: string, parameters?: Record<string, unknown>) => {
    const run = await runOf(deployment, parameters)
    expect((await ended(run)).state_type, context()).toBe("COMPLETED")
    return ranBy(run)
  }
  const gone = (pid: number) => waitFor(`process ${pid} to exit`, 60_000, async () => alive(pid) ? undefined : true, context)
  const napping = (run: RunRow) => waitFor(`run '${run.name}' to be napping`, 120_000, async () => {
    const tasks = await post<Array<RunRow>>(`${api}/task_runs/filter`, { flow_runs: { id: { any_: [run.id] } }, task_runs: { state: { type: { any_: ["RUNNING"] } } } })
    return tasks.length > 0 ? true : undefined
  }, context)

  const writeEditable = (version: string) =>
    fs.writeFileSync(editable, [
      `import { appendFileSync } from "node:fs"`,
      `import { deployment, flow, runContext } from "@orion-ts/orion"`,
      `if (process.env.REUSE_FIXTURE_LOADS) appendFileSync(process.env.REUSE_FIXTURE_LOADS, \`\${process.pid} loaded ${version}\\n\`)`,
      `export const edited = flow({ name: "reuse-edited" }, async () => {`,
      `  const ctx = runContext()`,
      `  appendFileSync(process.env.REUSE_FIXTURE_LOG!, \`\${ctx._tag === "FlowRun" ? ctx.flowRunId : ctx.flow.flowRunId} \${process.pid} ${version}\\n\`)`,
      `  return "${version}"`,
      `})`,
      `export const editedDeployment = deployment({ flow: edited, name: "edited", workQueue: "reuse-edited" })`,
      ``
    ].join("\n"))

  beforeAll(async () => {
    home = tempDir("orion-reuse-")
    log = path.join(home, "ran.txt")
    loads = path.join(home, "loads.txt")
    fs.writeFileSync(loads, "")
    const dir = path.join(root, ".orion-test", path.basename(home))
    fs.mkdirSync(dir, { recursive: true })
    editable = path.join(dir, "edited-flow.ts")
    writeEditable("v1")
    const port = await freePort()
    api = `http://127.0.0.1:${port}/api`
    server = launch(["start", "--port", String(port), "--no-ui"], { ORION_HOME: home, ORION_SERVICES_AGENT_ENABLED: "false" })
    agent = { child: undefined as never, output: () => "" }
    await waitFor("the server", 120_000, async () => (await fetch(`${api}/health`)).ok ? true : undefined, server.output)
    for (const file of [flows, editable]) {
      const created = await orion(["deployment", "create", file], { ORION_API_URL: api })
      expect(created.code, created.stderr).toBe(0)
    }
    agent = launch(["agent", "start", "--work-queue", "reuse", "--limit", "1"], {
      ORION_API_URL: api, REUSE_FIXTURE_LOG: log, ORION_AGENT_EXECUTOR_MAX_RUNS: "3", ORION_AGENT_WARM_EXECUTORS: "1"
    })
  }, 300_000)

  afterAll(async () => {
    await Promise.all([agent, server].filter((p) => p?.child !== undefined).map((p) => stop(p.child)))
    fs.rmSync(path.dirname(editable), { recursive: true, force: true })
  }, 120_000)

  it("runs completed runs one after another in one process, and retires it after ORION_AGENT_EXECUTOR_MAX_RUNS (3)", async () => {
    const pid = await deploymentId("reuse-whoami", "pid")
    const first = await completedBy(pid)
    const second = await completedBy(pid)
    const third = await completedBy(pid)
    expect([second.pid, third.pid]).toEqual([first.pid, first.pid])
    await gone(first.pid)
    const fourth = await completedBy(pid)
    expect(fourth.pid).not.toBe(first.pid)
    expect(agent.output()).toContain(`Retiring executor process ${first.pid}: it has run 3 flow run(s), its share (ORION_AGENT_EXECUTOR_MAX_RUNS)`)
  })

  it("retires an executor above ORION_AGENT_EXECUTOR_MAX_RSS_MB after its run, and an idle one after ORION_AGENT_EXECUTOR_IDLE_SECONDS", async () => {
    const elsewhere = await deploymentId("reuse-whoami", "pid-elsewhere")
    const agentWith = (env: Record<string, string>) =>
      launch(["agent", "start", "--work-queue", "reuse-limits", "--limit", "1"], { ORION_API_URL: api, REUSE_FIXTURE_LOG: log, ORION_AGENT_WARM_EXECUTORS: "0", ...env })
    const tight = agentWith({ ORION_AGENT_EXECUTOR_MAX_RSS_MB: "1" })
    try {
      const first = await completedBy(elsewhere)
      await gone(first.pid)
      expect(tight.output()).toMatch(new RegExp(`Retiring executor process ${first.pid}: its memory \\(\\d+ MB\\) is above ORION_AGENT_EXECUTOR_MAX_RSS_MB \\(1 MB\\)`))
      expect((await completedBy(elsewhere)).pid).not.toBe(first.pid)
    } finally {
      await stop(tight.child)
    }
    const idle = agentWith({ ORION_AGENT_EXECUTOR_IDLE_SECONDS: "2" })
    try {
      const first = await completedBy(elsewhere)
      await gone(first.pid)
      expect(idle.output()).toContain(`Retiring executor process ${first.pid}: idle, and more executors than the warm count are ready.`)
    } finally {
      await stop(idle.child)
    }
  })

  it("retires the process of a failed run: the next run runs in another", async () => {
    const pid = await deploymentId("reuse-whoami", "pid")
    const before = await completedBy(pid)
    const run = await runOf(await deploymentId("reuse-fails", "failing"))
    expect(await ended(run)).toMatchObject({ state_type: "FAILED" })
    const failedIn = ranBy(run).pid
    expect(failedIn).toBe(before.pid) // a reused process ran it …
    await gone(failedIn) // … and is gone after it
    expect((await completedBy(pid)).pid).not.toBe(failedIn)
  })

  it("runs a flow module edited on disk in a new process, with its new code", async () => {
    // an agent of its own (its queue), whose executors have room for more runs than this test makes
    const own = launch(["agent", "start", "--work-queue", "reuse-edited", "--limit", "1"], {
      ORION_API_URL: api, REUSE_FIXTURE_LOG: log, REUSE_FIXTURE_LOADS: loads, ORION_AGENT_EXECUTOR_MAX_RUNS: "10", ORION_AGENT_WARM_EXECUTORS: "1"
    })
    try {
      await editedRuns(own)
    } finally {
      await stop(own.child)
    }
  })

  const editedRuns = async (own: Running) => {
    const edited = await deploymentId("reuse-edited", "edited")
    const a = await completedBy(edited)
    // the warm executor started to replace the one that took run a imports the module ahead, before any run of it
    const preloaded = await waitFor("a warm executor to import the flow module ahead", 60_000, async () =>
      fs.readFileSync(loads, "utf8").split("\n").find((l) => l.endsWith(" loaded v1") && !l.startsWith(`${a.pid} `)), () => own.output())
    expect(fs.readFileSync(log, "utf8").split("\n").some((l) => l.split(" ")[1] === preloaded.split(" ")[0])).toBe(false)
    const b = await completedBy(edited)
    expect([a.note, b.note, b.pid]).toEqual(["v1", "v1", a.pid])
    writeEditable("v2")
    const c = await completedBy(edited)
    expect(c.note).toBe("v2")
    expect(c.pid).not.toBe(a.pid)
    await gone(a.pid)
    // the warm one that imported v1 ahead is retired with it (a new warm one imports v2)
    await gone(Number(preloaded.split(" ")[0]))
    expect(own.output()).toContain(`Retiring executor process ${preloaded.split(" ")[0]}: it holds the old code of a flow module that changed on disk.`)
    expect(own.output()).toMatch(new RegExp(`Executor process ${a.pid} refused flow run [0-9a-f-]{36}: .*edited-flow\\.ts changed on disk since this executor loaded it; a fresh process runs it\\.`))
    // the new process, with the new code, is reused in turn
    const d = await completedBy(edited)
    expect([d.note, d.pid]).toEqual(["v2", c.pid])
  }

  it("cancels a run in a reused executor (`orion flow-run cancel`): that run ends Cancelled, its process retires, the next run runs", async () => {
    const nap = await deploymentId("reuse-napper", "napping")
    const warmUp = await completedBy(nap)
    const long = await runOf(nap, { seconds: 600 })
    await napping(long)
    expect(ranBy(long).pid).toBe(warmUp.pid)
    const cancel = await orion(["flow-run", "cancel", long.id, "--wait"], { ORION_API_URL: api })
    expect(cancel.code, cancel.stderr).toBe(0)
    expect((await ended(long)).state_type).toBe("CANCELLED")
    const tasks = await post<Array<RunRow>>(`${api}/task_runs/filter`, { flow_runs: { id: { any_: [long.id] } } })
    expect(tasks.map((t) => t.state_type)).toEqual(["CANCELLED"])
    await gone(warmUp.pid)
    expect((await completedBy(nap)).pid).not.toBe(warmUp.pid)
  })

  it("ends Crashed a run whose reused executor is killed (SIGKILL) mid-run", async () => {
    const nap = await deploymentId("reuse-napper", "napping")
    const before = await completedBy(nap)
    const long = await runOf(nap, { seconds: 600 })
    await napping(long)
    expect(ranBy(long).pid).toBe(before.pid)
    process.kill(before.pid, "SIGKILL")
    const crashed = await ended(long)
    expect(crashed.state_type).toBe("CRASHED")
    expect(crashed.state?.message).toMatch(/^The flow run's executor process ended before the run did \(killed by SIGKILL/)
    expect((await completedBy(nap)).pid).not.toBe(before.pid)
  })
})
