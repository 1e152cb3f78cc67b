/**
 * Every script in examples/ run as a user would (`node --import tsx examples/x.ts`, each on its own temp ORION_HOME,
 * all at once): its exit code and output, then its runs, states and logs read straight from its SQLite database.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import Sqlite from "better-sqlite3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly home: string
}

const examples = ["etl-effect", "etl-async", "retries", "caching", "mapping", "subflows", "failing", "parallel", "cancel"] as const
type Example = typeof examples[number]

const root = path.resolve(import.meta.dirname, "..")
const homes: Array<string> = []

const runExample = (name: Example): Promise<Ran> => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `orion-example-${name}-`))
  homes.push(home)
  const env: Record<string, string | undefined> = { ...process.env, ORION_HOME: home }
  delete env.ORION_DATABASE_URL
  delete env.ORION_API_URL
  delete env.ORION_RESULTS_DIR
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join("examples", `${name}.ts`)], { cwd: root, env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => { stdout += d })
    child.stderr.on("data", (d) => { stderr += d })
    // a liveness limit, not a speed bar: eight examples start at once beside the other suites, each loading Orion through tsx
    const timer = setTimeout(() => child.kill("SIGKILL"), 150_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, home })
    })
  })
}

const runs = new Map<Example, Ran>()

beforeAll(async () => {
  const results = await Promise.all(examples.map(async (name) => [name, await runExample(name)] as const))
  for (const [name, ran] of results) runs.set(name, ran)
}, 180_000)

afterAll(() => {
  for (const home of homes) fs.rmSync(home, { recursive: true, force: true })
})

/** The example's output, its exit code checked (a failure shows what it printed). */
const ran = (name: Example): Ran => {
  const r = runs.get(name)!
  expect(r.code, `examples/${name}.ts exited ${r.code}\n${r.stdout}\n${r.stderr}`).toBe(0)
  return r
}

/** Opens the example's database read-only for one query session. */
const withDb = <A>(name: Example, f: (db: Sqlite.Database) => A): A => {
  const db = new Sqlite(path.join(runs.get(name)!.home, "orion.db"), { readonly: true })
  try {
    return f(db)
  } finally {
    db.close()
  }
}

interface FlowRunRow { readonly id: string; readonly flow: string; readonly state_name: string; readonly parent_task_run_id: string | null }
interface TaskRunRow { readonly id: string; readonly name: string; readonly state_name: string; readonly flow_run_id: string }

const flowRuns = (db: Sqlite.Database) =>
  db.prepare(`SELECT r.id, f.name AS flow, r.state_name, r.parent_task_run_id FROM flow_run r JOIN flow f ON f.id = r.flow_id ORDER BY r.id`).all() as Array<FlowRunRow>
const taskRuns = (db: Sqlite.Database, flowRunId: string) =>
  db.prepare(`SELECT id, name, state_name, flow_run_id FROM task_run WHERE flow_run_id = ? ORDER BY id`).all(flowRunId) as Array<TaskRunRow>
const stateNames = (db: Sqlite.Database, kind: "flow_run" | "task_run", id: string) =>
  (db.prepare(`SELECT name FROM ${kind}_state WHERE ${kind}_id = ? ORDER BY timestamp`).all(id) as Array<{ name: string }>).map((s) => s.name)
const logMessages = (db: Sqlite.Database) =>
  (db.prepare(`SELECT message FROM log ORDER BY timestamp`).all() as Array<{ message: string }>).map((l) => l.message)

describe("examples", () => {
  for (const style of ["effect", "async"] as const) {
    it(`etl-${style}: completes every task run and stores its log lines`, () => {
      const { stdout } = ran(`etl-${style}`)
      expect(stdout).toContain(`of flow 'etl-${style}': Completed`)
      expect(stdout).toContain("task run 'transform-3': Pending → Running → Completed")
      withDb(`etl-${style}`, (db) => {
        const [run, ...others] = flowRuns(db)
        expect(others).toEqual([])
        expect(run!.state_name).toBe("Completed")
        expect(stateNames(db, "flow_run", run!.id)).toEqual(["Pending", "Running", "Completed"])
        const tasks = taskRuns(db, run!.id)
        expect(tasks.map((t) => t.name).sort()).toEqual(["extract-0", "load-0", "transform-0", "transform-1", "transform-2", "transform-3"])
        for (const t of tasks) expect(stateNames(db, "task_run", t.id)).toEqual(["Pending", "Running", "Completed"])
        expect(logMessages(db)).toEqual(expect.arrayContaining(["extracting 4 orders", "loaded 4 rows, 125 EUR in all"]))
      })
    })
  }

  it("cancel: cancelled from outside by `orion flow-run cancel --wait`, the flow run, its task runs and its subflow end Cancelled", () => {
    const { stdout } = ran("cancel")
    expect(stdout).toMatch(/is Cancelling: the process running it stops it/)
    expect(stdout).toMatch(/^Flow run '\S+' finished in state Cancelled\.$/m)
    expect(stdout).toContain("of flow 'long-running': Cancelled")
    withDb("cancel", (db) => {
      const runs = flowRuns(db)
      const parent = runs.find((r) => r.flow === "long-running")!
      const child = runs.find((r) => r.flow === "archive")!
      expect(stateNames(db, "flow_run", parent.id)).toEqual(["Pending", "Running", "Cancelling", "Cancelled"])
      expect(child.state_name).toBe("Cancelled")
      const tasks = [...taskRuns(db, parent.id), ...taskRuns(db, child.id)]
      expect(tasks).toHaveLength(5)
      for (const t of tasks) expect(t.state_name, t.name).toBe("Cancelled")
    })
  })

  it("retries: the flaky task run is retried twice, with back-off, then completes", () => {
    const { stdout } = ran("retries")
    expect(stdout).toContain("Pending → Running → AwaitingRetry → Retrying → AwaitingRetry → Retrying → Completed")
    withDb("retries", (db) => {
      const [run] = flowRuns(db)
      expect(run!.state_name).toBe("Completed")
      const [task] = taskRuns(db, run!.id)
      expect(stateNames(db, "task_run", task!.id)).toEqual(["Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed"])
      const { run_count } = db.prepare(`SELECT run_count FROM task_run WHERE id = ?`).get(task!.id) as { run_count: number }
      expect(run_count).toBe(3)
      expect(logMessages(db)).toEqual(expect.arrayContaining(["attempt 1 for ACME", "attempt 2 for ACME", "attempt 3 for ACME"]))
    })
  })

  it("caching: the second flow run's task run is Cached and the body ran once", () => {
    const { stdout } = ran("caching")
    expect(stdout).toContain("task run 'exchange-rate-0': Pending → Cached")
    expect(stdout).toContain("the task body ran 1 time(s) for 2 flow runs")
    withDb("caching", (db) => {
      const runs = flowRuns(db)
      expect(runs.map((r) => r.state_name)).toEqual(["Completed", "Completed"])
      expect(runs.map((r) => stateNames(db, "task_run", taskRuns(db, r.id)[0]!.id))).toEqual([["Pending", "Running", "Completed"], ["Pending", "Cached"]])
    })
  })

  it("mapping: one completed task run per mapped element", () => {
    const { stderr } = ran("mapping")
    // Effect.log in the flow: Orion's log line on stderr
    expect(stderr).toMatch(/INFO orion\.flow_runs\.mapping - squares 1,4,9, scaled 10,40,90, more 1,4,9,16$/m)
    withDb("mapping", (db) => {
      const [run] = flowRuns(db)
      const tasks = taskRuns(db, run!.id)
      expect(tasks).toHaveLength(11)
      expect(tasks.filter((t) => t.name.startsWith("square-"))).toHaveLength(7)
      expect(new Set(tasks.map((t) => t.state_name))).toEqual(new Set(["Completed"]))
    })
  })

  it("subflows: three child flow runs, each linked to a task run of the parent", () => {
    const { stdout } = ran("subflows")
    expect(stdout).toContain("of flow 'subflows': Completed")
    withDb("subflows", (db) => {
      const runs = flowRuns(db)
      const parent = runs.find((r) => r.flow === "subflows")!
      const children = runs.filter((r) => r.parent_task_run_id !== null)
      expect(children.map((r) => r.flow).sort()).toEqual(["fetch-page", "fetch-page", "summarize"])
      const placeholders = taskRuns(db, parent.id).map((t) => t.id)
      for (const child of children) {
        expect(placeholders).toContain(child.parent_task_run_id)
        expect(child.state_name).toBe("Completed")
      }
      expect(taskRuns(db, children[0]!.id).map((t) => t.state_name)).toEqual(["Completed", "Completed"])
    })
  })

  it("failing: exits 0 after printing the Failed flow run, the Failed task run and the NotReady one", () => {
    const { stdout } = ran("failing")
    expect(stdout).toContain("final state: FAILED (Failed)")
    expect(stdout).toContain("Task run encountered an exception: the input file is corrupt")
    withDb("failing", (db) => {
      const [run] = flowRuns(db)
      expect(run!.state_name).toBe("Failed")
      const byName = Object.fromEntries(taskRuns(db, run!.id).map((t) => [t.name, stateNames(db, "task_run", t.id)]))
      expect(byName).toEqual({
        "ok-0": ["Pending", "Running", "Completed"],
        "explode-0": ["Pending", "Running", "Failed"],
        "publish-0": ["Pending", "NotReady"]
      })
      const warning = db.prepare(`SELECT level, message FROM log WHERE task_run_id IS NOT NULL`).all()
      expect(warning).toEqual([
        { level: 30, message: "about to fail" },
        { level: 40, message: "Task run 'explode-0' finished in state Failed: Task run encountered an exception: the input file is corrupt" }
      ])
    })
  })

  it("parallel: eight task runs counted primes on worker threads; their logs reached the run's logs", () => {
    const { stdout } = ran("parallel")
    expect(stdout).toContain("of flow 'parallel-primes': Completed")
    withDb("parallel", (db) => {
      const [run, ...others] = flowRuns(db)
      expect(others).toEqual([])
      expect(run!.state_name).toBe("Completed")
      const tasks = taskRuns(db, run!.id)
      expect(tasks.map((t) => t.name).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `count-primes-${i}`))
      for (const t of tasks) expect(stateNames(db, "task_run", t.id)).toEqual(["Pending", "Running", "Completed"])
      const lines = db.prepare(`SELECT message, task_run_id FROM log WHERE flow_run_id = ?`).all(run!.id) as Array<{ message: string; task_run_id: string | null }>
      const fromWorkers = lines.filter((l) => /^\d+ primes in \[\d+, \d+\) on worker thread [1-9]\d*$/.test(l.message))
      expect(fromWorkers).toHaveLength(8)
      expect(new Set(fromWorkers.map((l) => l.task_run_id))).toEqual(new Set(tasks.map((t) => t.id)))
      expect(lines.map((l) => l.message)).toContain("148933 primes below 2000000")
    })
  })
})
