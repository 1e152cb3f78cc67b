/**
 * The crash-detection service: a run RUNNING whose heartbeats stopped for `timeoutSeconds` (counting from the time it
 * entered Running when it never sent one) has lost its process: it becomes Crashed through the orchestrator, so the
 * rules apply — its task runs' concurrency slots are released, and a flow run whose policy asks (`retry_crashed`) is
 * retried. A flow run's unfinished task runs end with it. A run CANCELLING that long with no sign of life becomes
 * Cancelled. A flow run PENDING for `pendingTimeoutSeconds` was never started (say, claimed by an agent killed before its executor
 * began): it becomes Crashed too. So
 * nothing stays Pending, Running or Cancelling forever.
 */
import { Effect } from "effect"
import { formatTimestamp, type Uuid } from "../src/domain/primitives.js"
import type { RunKind } from "../src/domain/runs.js"
import { States } from "../src/domain/state.js"
import { currentDate } from "../src/storage/repositories/common.js"
import { type StaleRun, staleRuns, unfinishedTaskRuns } from "../src/storage/service-queries.js"
import { Orchestrator } from "../runtime/orchestrator.js"
import { loopService, runsText } from "./loop.js"
import type { CrashDetectionSettings } from "./settings.js"

/** Proposes the end of one run whose process is gone; an unknown run (deleted meanwhile) is skipped. */
const end = (kind: RunKind, id: Uuid, cancelling: boolean, message: string) =>
  Effect.flatMap(Orchestrator, (orchestrator) =>
    orchestrator.propose({ kind, id }, cancelling ? States.Cancelled({ message }) : States.Crashed({ message })).pipe(
      Effect.map((r) => r.status === "ACCEPT" || r.state?.type === "SCHEDULED"),
      Effect.catchTag("ObjectNotFound", () => Effect.succeed(false))
    ))

const why = (run: StaleRun, settings: CrashDetectionSettings) =>
  run.state_type === "PENDING"
    ? `Pending since ${formatTimestamp(run.last_seen)} (more than ${settings.pendingTimeoutSeconds} s) and never started: the process that was to run it is presumed gone.`
    : `No heartbeat since ${formatTimestamp(run.last_seen)} (more than ${settings.timeoutSeconds} s): the run's process is presumed dead.`

/**
 * Ends a stale flow run: first its unfinished task runs (Crashed; Cancelled when they or it were being cancelled), so
 * that a retry of the flow run, decided by the rules on its Crashed, finds them ended and resets them; then the run.
 */
const endFlowRun = (run: StaleRun, settings: CrashDetectionSettings) =>
  Effect.gen(function*() {
    const message = why(run, settings)
    let ended = 0
    for (const task of yield* unfinishedTaskRuns(run.id)) {
      // The task runs of a flow run being cancelled are Cancelled with it; the others Crashed.
      const cancel = run.state_type === "CANCELLING" || task.state_type === "CANCELLING"
      if (yield* end("task_run", task.id, cancel, `Its flow run's process is presumed dead. ${message}`)) ended++
    }
    return ended + ((yield* end("flow_run", run.id, run.state_type === "CANCELLING", message)) ? 1 : 0)
  })

/** One pass as of `now`: stale flow runs (with their task runs), then stale task runs left; answers how many runs it ended (or sent to a retry). */
export const detectCrashesAt = (now: Date, settings: CrashDetectionSettings) =>
  Effect.gen(function*() {
    const cutoff = new Date(now.getTime() - settings.timeoutSeconds * 1000)
    const pendingCutoff = new Date(now.getTime() - settings.pendingTimeoutSeconds * 1000)
    let ended = 0
    for (const kind of ["flow_run", "task_run"] as const) {
      let after: string | null = null
      while (true) {
        const page: ReadonlyArray<StaleRun> = yield* staleRuns(kind, cutoff, pendingCutoff, after, settings.batchSize)
        for (const run of page) {
          ended += kind === "flow_run"
            ? yield* endFlowRun(run, settings)
            : (yield* end("task_run", run.id, run.state_type === "CANCELLING", why(run, settings))) ? 1 : 0
        }
        if (page.length < settings.batchSize) break
        after = page[page.length - 1]!.id
      }
    }
    return ended
  })

export const crashDetection = (settings: CrashDetectionSettings) =>
  loopService({
    name: "crash-detection",
    description: `marks runs Crashed after ${settings.timeoutSeconds} s without a heartbeat, Cancelling ones Cancelled (every ${settings.loopSeconds} s)`,
    loopSeconds: settings.loopSeconds,
    runOnce: () => Effect.map(Effect.flatMap(currentDate, (now) => detectCrashesAt(now, settings)), (n) => (n > 0 ? `Ended ${runsText(n)} whose process is gone.` : ""))
  })
