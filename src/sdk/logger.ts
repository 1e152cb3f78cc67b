/**
 * `getRunLogger()`: the logger of the current run for async code. Its lines are stored as run logs (batched, never
 * blocking) and echoed to the console; Effect code gets the same by plain `Effect.log*`.
 */
import { Context } from "effect"
import { RunLogs } from "../../runtime/run-logs.js"
import { ambientRun, flowOf } from "./context.js"
import { NotInFlow } from "./errors.js"

export interface RunLogger {
  readonly debug: (...message: ReadonlyArray<unknown>) => void
  readonly info: (...message: ReadonlyArray<unknown>) => void
  readonly warning: (...message: ReadonlyArray<unknown>) => void
  readonly error: (...message: ReadonlyArray<unknown>) => void
}

const render = (parts: ReadonlyArray<unknown>): string =>
  parts.map((p) => typeof p === "string" ? p : p instanceof Error ? p.stack ?? p.message : safeJson(p)).join(" ")

const safeJson = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

/** The current run's logger; throws `NotInFlow` outside a flow run or task run. */
export const getRunLogger = (): RunLogger => {
  const ctx = ambientRun()
  if (ctx === undefined) throw new NotInFlow({ message: "getRunLogger() was called outside a flow run or task run." })
  const flow = flowOf(ctx)
  const logs = Context.get(flow.runtime.context, RunLogs)
  const name = ctx._tag === "TaskRun" ? `orion.task_runs.${ctx.taskName}` : `orion.flow_runs.${ctx.flowName}`
  const line = (level: number, consoleMethod: "debug" | "info" | "warn" | "error") => (...message: ReadonlyArray<unknown>) => {
    const text = render(message)
    logs.unsafeLog({
      name, level, message: text, timestamp: new Date(),
      flow_run_id: flow.flowRunId,
      task_run_id: ctx._tag === "TaskRun" ? ctx.taskRunId : null
    })
    if (level >= 20) console[consoleMethod](`${new Date().toISOString()} ${levelName(level)} ${name} - ${text}`)
  }
  return { debug: line(10, "debug"), info: line(20, "info"), warning: line(30, "warn"), error: line(40, "error") }
}

const levelName = (level: number) => level >= 40 ? "ERROR" : level >= 30 ? "WARNING" : level >= 20 ? "INFO" : "DEBUG"
