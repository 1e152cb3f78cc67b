/**
 * `getRunLogger()`: the logger of the current run for async code. Its lines are stored as run logs (batched, never
 * blocking) and echoed to the console; Effect code gets the same by plain `Effect.log*`.
 */
import { Effect, LogLevel, Runtime } from "effect"
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
  const annotations = {
    "orion.flow_run_id": flow.flowRunId,
    ...(ctx._tag === "TaskRun" ? { "orion.task_run_id": ctx.taskRunId, "orion.logger": `orion.task_runs.${ctx.taskName}` } : { "orion.logger": `orion.flow_runs.${ctx.flowName}` })
  }
  // Through the run's Effect loggers: stored as a run log, and on the console in ORION_LOG_FORMAT at ORION_LOG_LEVEL.
  const runSync = Runtime.runSync(flow.runtime)
  const line = (level: LogLevel.LogLevel) => (...message: ReadonlyArray<unknown>) =>
    runSync(Effect.annotateLogs(Effect.logWithLevel(level, render(message)), annotations))
  return { debug: line(LogLevel.Debug), info: line(LogLevel.Info), warning: line(LogLevel.Warning), error: line(LogLevel.Error) }
}
