/**
 * The late-runs service (spec §5.3, with the comparison fixed as in 2022): a flow run still in the state named
 * "Scheduled" `afterSeconds` after its time becomes Late, through the orchestrator, so the decision is recorded. Not
 * forced (as in Prefect) but by the rules, which allow Scheduled → Late and refuse it for a run an agent started
 * meanwhile. Late is still a SCHEDULED-type state, so agents still pick it up; AwaitingRetry runs are never marked.
 */
import { Effect } from "effect"
import { States } from "../src/domain/state.js"
import { currentDate } from "../src/storage/repositories/common.js"
import { type LateCandidate, lateRunCandidates } from "../src/storage/service-queries.js"
import { Orchestrator } from "../runtime/orchestrator.js"
import { loopService, runsText } from "./loop.js"
import type { LateRunsSettings } from "./settings.js"

/** One pass as of `now`: every run late by then, `batchSize` at a time; answers how many were marked Late. */
export const markLateAt = (now: Date, settings: LateRunsSettings) =>
  Effect.gen(function*() {
    const orchestrator = yield* Orchestrator
    const cutoff = new Date(now.getTime() - settings.afterSeconds * 1000)
    let after: string | null = null
    let marked = 0
    while (true) {
      const page: ReadonlyArray<LateCandidate> = yield* lateRunCandidates(cutoff, after, settings.batchSize)
      const results = yield* Effect.forEach(page, (run) =>
        orchestrator.propose(
          { kind: "flow_run", id: run.id },
          States.Late({ scheduledTime: run.next_scheduled_start_time })
        ).pipe(Effect.catchTag("ObjectNotFound", () => Effect.succeed(null))), { concurrency: "unbounded" })
      marked += results.filter((r) => r !== null && r.status === "ACCEPT").length
      if (page.length < settings.batchSize) return marked
      after = page[page.length - 1]!.id
    }
  })

export const lateRuns = (settings: LateRunsSettings) =>
  loopService({
    name: "late-runs",
    description: `marks Scheduled flow runs not started ${settings.afterSeconds} s after their time as Late (every ${settings.loopSeconds} s)`,
    loopSeconds: settings.loopSeconds,
    runOnce: () => Effect.map(Effect.flatMap(currentDate, (now) => markLateAt(now, settings)), (n) => (n > 0 ? `Marked ${runsText(n)} as Late.` : ""))
  })
