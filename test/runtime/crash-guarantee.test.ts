/**
 * What a crash keeps, in local mode on SQLite (README, "What survives a crash"): every state a run was told it ended
 * in is in the database; a non-terminal state is there once the process's event loop has turned after it (a body that
 * awaits); only the transitions of the turn in which the process died can be missing.
 */
import { describe, expect, it } from "vitest"
import Sqlite from "better-sqlite3"
import { spawn } from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"
import { tempDir } from "../support/databases.js"
import { cleanEnv } from "../support/env.js"

/** Runs the crash script until it dies (or prints `until`, then kills it); answers the task runs stored, by name. */
const crashAt = async (where: string, until?: string) => {
  const home = tempDir("orion-crash-")
  const proc = spawn(process.execPath, ["--import", "tsx", "test/fixtures/crash-script.ts", where], {
    env: cleanEnv({ ORION_HOME: home }), stdio: ["ignore", "pipe", "inherit"]
  })
  const printed: Array<string> = []
  readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
    printed.push(line)
    if (line === until) proc.kill("SIGKILL")
  })
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => proc.on("exit", (_code, signal) => resolve(signal)))
  const db = new Sqlite(path.join(home, "orion.db"), { readonly: true })
  try {
    const tasks = db.prepare("SELECT name, state_type FROM task_run").all() as Array<{ name: string; state_type: string }>
    const flows = db.prepare("SELECT state_type FROM flow_run").all() as Array<{ state_type: string }>
    const stateOf = (name: string) => tasks.find((t) => t.name.startsWith(name))?.state_type ?? "(not stored)"
    return { signal, printed, first: stateOf("first"), second: stateOf("second"), flow: flows[0]?.state_type ?? "(not stored)" }
  } finally {
    db.close()
  }
}

describe("what a crash keeps (local mode, SQLite)", () => {
  it("a task run whose result came back is Completed in the database, though the process died right after", async () => {
    const r = await crashAt("after-completed")
    expect(r.signal).toBe("SIGKILL")
    expect(r.printed).toContain("first returned 42")
    expect(r.first).toBe("COMPLETED")
    expect(r.flow).toBe("RUNNING")
  }, 60_000)

  it("a task run whose body is awaiting is Running in the database", async () => {
    const r = await crashAt("while-awaiting", "second is awaiting")
    expect(r.signal).toBe("SIGKILL")
    expect(r).toMatchObject({ first: "COMPLETED", second: "RUNNING", flow: "RUNNING" })
  }, 60_000)

  it("dying in the turn a task run started loses that start, and nothing before it", async () => {
    const r = await crashAt("in-sync-body")
    expect(r.signal).toBe("SIGKILL")
    expect(r.first).toBe("COMPLETED")
    expect(["(not stored)", "PENDING"]).toContain(r.second)
  }, 60_000)
})
