/**
 * What runs say about themselves, as Prefect's users expect, through Effect's loggers (so on stderr in the
 * `ORION_LOG_FORMAT` format, at `ORION_LOG_LEVEL`, and into the run's logs): a flow run created, an attempt that failed
 * (with its error) and its retry, a run that ended in a state other than Completed, a top-level flow run's final state.
 * Nothing is logged for a task run that goes well: that path stays free of formatting work.
 */
import { Clock, Config, Duration, Effect } from "effect"
import type { State, Uuid } from "../domain/index.js"

/** `ORION_REPORT_RUNS`: whether a script logs the final state of its top-level flow runs (default true). */
export const reportRuns = Config.boolean("ORION_REPORT_RUNS").pipe(Config.withDefault(true))

/** Who a run is, for its lines. */
export interface RunReport {
  readonly kind: "Flow run" | "Task run"
  /** The run's name (`lucky-fox`, `extract-0`). */
  readonly name: string
  /** The flow's or task's name. */
  readonly definition: string
  readonly flowRunId: Uuid
  readonly taskRunId?: Uuid | undefined
  readonly maxRetries: number
  /** Whether the run's terminal state is reported by the run actor (false: the caller reports it, see `flowRunFinished`). */
  readonly reportEnd: boolean
}

/** `orion.flow_runs.<flow>` or `orion.task_runs.<task>`. */
const loggerOf = (report: RunReport) => `orion.${report.kind === "Flow run" ? "flow_runs" : "task_runs"}.${report.definition}`

const as = (report: RunReport) =>
  Effect.annotateLogs({
    "orion.logger": loggerOf(report),
    "orion.flow_run_id": report.flowRunId,
    ...(report.taskRunId === undefined ? {} : { "orion.task_run_id": report.taskRunId })
  })

const withMessage = (state: { readonly name: string; readonly message: string | null }) => `${state.name}${state.message ? `: ${state.message}` : ""}`

/** `Created flow run 'lucky-fox' (…) for flow 'etl'`. */
export const flowRunCreated = (flowName: string, flowRunId: Uuid, runName: string): Effect.Effect<void> =>
  as({ kind: "Flow run", name: runName, definition: flowName, flowRunId, maxRetries: 0, reportEnd: false })(
    Effect.logInfo(`Created flow run '${runName}' (${flowRunId}) for flow '${flowName}'`))

/** An attempt failed (`proposal` was refused for a retry, `retry`): the error, then when it runs again. */
export const attemptFailed = (report: RunReport, failure: string, retry: State, attempt: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const at = retry.state_details.scheduled_time?.getTime() ?? now
    const wait = at > now ? `in ${Duration.format(Duration.millis(at - now))}` : "now"
    return as(report)(Effect.zipRight(
      Effect.logError(`${report.kind} '${report.name}' failed (attempt ${attempt} of ${report.maxRetries + 1}): ${failure}`),
      Effect.logInfo(`${report.kind} '${report.name}' will retry ${wait} (${retry.name})`)
    ))
  })

/** A run ended: a line only when it did not complete (and its actor reports its end). */
export const runEnded = (report: RunReport, state: Pick<State, "type" | "name" | "message">, attempts: number): Effect.Effect<void> =>
  !report.reportEnd || state.type === "COMPLETED" ? Effect.void : as(report)(
    Effect.logError(`${report.kind} '${report.name}' finished in state ${withMessage(state)}${attempts > 1 ? ` after ${attempts} attempts` : ""}`))

/** A top-level flow run's final state: INFO when Completed, ERROR otherwise (off with `ORION_REPORT_RUNS=false`). */
export const flowRunFinished = (flowName: string, flowRunId: Uuid, runName: string, state: State): Effect.Effect<void> =>
  Effect.flatMap(Effect.orElseSucceed(reportRuns, () => true), (on) => {
    if (!on) return Effect.void
    const text = `Flow run '${runName}' (${flowRunId}) finished in state ${state.type === "COMPLETED" ? state.name : withMessage(state)}`
    return as({ kind: "Flow run", name: runName, definition: flowName, flowRunId, maxRetries: 0, reportEnd: false })(
      state.type === "COMPLETED" ? Effect.logInfo(text) : Effect.logError(text))
  })
