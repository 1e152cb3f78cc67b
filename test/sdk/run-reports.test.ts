/**
 * What a script running a flow prints about its runs (src/sdk/report.ts) in each ORION_LOG_FORMAT, and what
 * ORION_LOG_LEVEL hides — in a real child process, as a user runs it (`node --import tsx`).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")

const runScript = (env: Record<string, string>): Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> => {
  const full: Record<string, string | undefined> = { ...process.env, ORION_HOME: fs.mkdtempSync(path.join(os.tmpdir(), "orion-reports-")), NO_COLOR: "1", ...env }
  for (const k of ["ORION_DATABASE_URL", "ORION_API_URL", "ORION_RESULTS_DIR", "ORION_REPORT_RUNS", "OTEL_EXPORTER_OTLP_ENDPOINT"]) delete full[k]
  for (const [k, v] of Object.entries(env)) full[k] = v
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join("test", "fixtures", "retrying-flow.ts")], { cwd: root, env: full })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => { stdout += d })
    child.stderr.on("data", (d) => { stderr += d })
    const timer = setTimeout(() => child.kill("SIGKILL"), 55_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

describe("a script whose task fails, retries and fails again", () => {
  it("pretty (the default): created, failed with its error, retrying, failed for good, the flow run finished in Failed", async () => {
    const { code, stderr, stdout } = await runScript({})
    expect(code, stderr).toBe(0)
    expect(stdout).toBe("")
    const lines = stderr.trim().split("\n")
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l))
    const created = at(new RegExp(`^\\S+Z INFO orion\\.flow_runs\\.doomed - Created flow run '[a-z]+-[a-z]+' \\(${uuid}\\) for flow 'doomed'$`))
    const failed = at(/^\S+Z ERROR orion\.task_runs\.flaky - Task run 'flaky-0' failed \(attempt 1 of 2\): Task run encountered an exception: broken on purpose$/)
    const retrying = at(/^\S+Z INFO orion\.task_runs\.flaky - Task run 'flaky-0' will retry now \(AwaitingRetry\)$/)
    const final = at(/^\S+Z ERROR orion\.task_runs\.flaky - Task run 'flaky-0' finished in state Failed: Task run encountered an exception: broken on purpose after 2 attempts$/)
    const finished = at(new RegExp(`^\\S+Z ERROR orion\\.flow_runs\\.doomed - Flow run '[a-z]+-[a-z]+' \\(${uuid}\\) finished in state Failed: .*broken on purpose$`))
    expect([created, failed, retrying, final, finished].every((i) => i >= 0), stderr).toBe(true)
    expect(created < failed && failed < retrying && retrying < final && final < finished).toBe(true)
  }, 60_000)

  it("json: one object per line with timestamp, level, logger, message and the run ids", async () => {
    const { code, stderr } = await runScript({ ORION_LOG_FORMAT: "json" })
    expect(code, stderr).toBe(0)
    const records = stderr.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    for (const r of records) {
      expect(Object.keys(r).slice(0, 4)).toEqual(["timestamp", "level", "logger", "message"])
      expect(new Date(r.timestamp as string).toISOString()).toBe(r.timestamp)
      expect(r.flow_run_id).toMatch(new RegExp(`^${uuid}$`))
    }
    const created = records.find((r) => String(r.message).startsWith("Created flow run"))!
    expect(created).toMatchObject({ level: "INFO", logger: "orion.flow_runs.doomed" })
    const failed = records.find((r) => String(r.message).startsWith("Task run 'flaky-0' failed (attempt 1 of 2)"))!
    expect(failed).toMatchObject({ level: "ERROR", logger: "orion.task_runs.flaky", flow_run_id: created.flow_run_id })
    expect(failed.message).toContain("broken on purpose")
    expect(failed.task_run_id).toMatch(new RegExp(`^${uuid}$`))
    expect(records.some((r) => r.level === "INFO" && String(r.message).startsWith("Task run 'flaky-0' will retry"))).toBe(true)
    expect(records.at(-1)).toMatchObject({ level: "ERROR", logger: "orion.flow_runs.doomed", flow_run_id: created.flow_run_id })
    expect(records.at(-1)!.message).toMatch(/finished in state Failed/)
  }, 60_000)

  it("logfmt: key=value pairs, the message quoted", async () => {
    const { code, stderr } = await runScript({ ORION_LOG_FORMAT: "logfmt" })
    expect(code, stderr).toBe(0)
    expect(stderr).toMatch(new RegExp(`^timestamp=\\S+Z level=INFO logger=orion\\.flow_runs\\.doomed flow_run_id=${uuid} message="Created flow run '[a-z-]+' \\(${uuid}\\) for flow 'doomed'"$`, "m"))
    expect(stderr).toMatch(new RegExp(`^timestamp=\\S+Z level=ERROR logger=orion\\.task_runs\\.flaky flow_run_id=${uuid} task_run_id=${uuid} message="Task run 'flaky-0' failed \\(attempt 1 of 2\\): .*broken on purpose"$`, "m"))
    expect(stderr).toMatch(/^timestamp=\S+ level=INFO logger=orion\.task_runs\.flaky .* message="Task run 'flaky-0' will retry/m)
    expect(stderr).toMatch(/^timestamp=\S+ level=ERROR logger=orion\.flow_runs\.doomed .* message="Flow run '[a-z-]+' \(.*\) finished in state Failed/m)
  }, 60_000)

  it("ORION_LOG_LEVEL=ERROR hides the INFO lines and keeps the failures", async () => {
    const { code, stderr } = await runScript({ ORION_LOG_LEVEL: "error" })
    expect(code, stderr).toBe(0)
    expect(stderr).not.toMatch(/ INFO /)
    expect(stderr).not.toMatch(/Created flow run|will retry/)
    expect(stderr).toMatch(/ERROR orion\.task_runs\.flaky - Task run 'flaky-0' failed \(attempt 1 of 2\)/)
    expect(stderr).toMatch(/ERROR orion\.flow_runs\.doomed - Flow run .* finished in state Failed/)
  }, 60_000)

  it("a bad ORION_LOG_FORMAT or ORION_LOG_LEVEL: one clear error naming the accepted values", async () => {
    const format = await runScript({ ORION_LOG_FORMAT: "xml" })
    expect(format.code).not.toBe(0)
    expect(format.stderr).toContain("ORION_LOG_FORMAT must be one of pretty, logfmt, json; got 'xml'")
    const level = await runScript({ ORION_LOG_LEVEL: "loud" })
    expect(level.code).not.toBe(0)
    expect(level.stderr).toContain("ORION_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'loud'")
  }, 60_000)
})
