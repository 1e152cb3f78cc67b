/**
 * The scheduler service (spec §5.2): every loop, pages through the deployments with an active schedule and keeps each
 * one's runs scheduled ahead (at most `maxRuns`, at most `maxScheduledSeconds` ahead). Idempotent across processes:
 * each date's run has a unique key per deployment and date, so two schedulers on one database never make a run twice.
 * It never executes anything.
 */
import { Effect } from "effect"
import { createScheduledRuns, scheduledRunsOf } from "../src/api/scheduling.js"
import type { Deployment } from "../src/domain/deployment.js"
import type { FlowRunCreate } from "../src/domain/runs.js"
import { currentDate } from "../src/storage/repositories/common.js"
import {
  activeScheduledDeployments, type DeploymentPage, deleteUnstartedRuns, deploymentUnchanged, existingRunKeys
} from "../src/storage/service-queries.js"
import { Orchestrator } from "../runtime/orchestrator.js"
import { loopService, runsText } from "./loop.js"
import type { ServiceReporter } from "./service.js"
import type { SchedulerSettings } from "./settings.js"

/**
 * Schedules one page of deployments. A deployment paused, changed or deleted while its runs were being made loses the
 * runs made here that have not started (its handler removed the others): a pass never undoes a pause.
 */
export const schedulePage = (page: ReadonlyArray<Deployment>, now: Date, settings: SchedulerSettings, report: ServiceReporter) =>
  Effect.gen(function*() {
    const window = { start: now, end: new Date(now.getTime() + settings.maxScheduledSeconds * 1000), maxRuns: settings.maxRuns }
    const runs: Array<FlowRunCreate> = []
    for (const deployment of page) {
      const made = yield* Effect.either(scheduledRunsOf(deployment, window))
      if (made._tag === "Left") {
        yield* report.error(`deployment ${deployment.id} (${deployment.name}): ${made.left.detail}`)
        continue
      }
      // Most dates of a pass were scheduled by an earlier one: only the others go to the orchestrator, which still
      // makes each run at most once (another scheduler may be making the same ones).
      const existing = yield* existingRunKeys(deployment.flow_id, made.right.map((r) => r.idempotency_key!))
      runs.push(...made.right.filter((r) => !existing.has(r.idempotency_key!)))
    }
    const created = yield* createScheduledRuns(runs, settings.insertBatchSize)
    let kept = created.length
    for (const deployment of page) {
      const mine = created.filter((c) => c.run.deployment_id === deployment.id).map((c) => c.id)
      if (mine.length === 0 || (yield* deploymentUnchanged(deployment.id, deployment.updated))) continue
      const removed = yield* deleteUnstartedRuns(mine)
      const orchestrator = yield* Orchestrator
      yield* Effect.forEach(removed, (id) => orchestrator.invalidate(id), { discard: true })
      kept -= removed.length
    }
    return kept
  })

/**
 * One pass (spec §5.2) as of `now`: every page of active deployments, until a page comes back short; answers the runs
 * made. A deployment that cannot be read or scheduled is reported (`last_error`), and the others are still scheduled.
 */
export const scheduleAt = (now: Date, settings: SchedulerSettings, report: ServiceReporter) =>
  Effect.gen(function*() {
    let after: string | null = null
    let total = 0
    while (true) {
      const page: DeploymentPage = yield* activeScheduledDeployments(after, settings.deploymentBatchSize)
      for (const bad of page.unreadable) yield* report.error(`deployment ${bad.id} (${bad.name}) cannot be read: ${bad.reason}`)
      if (page.deployments.length > 0) total += yield* schedulePage(page.deployments, now, settings, report)
      if (page.size < settings.deploymentBatchSize || page.lastId === null) return total
      after = page.lastId
    }
  })

export const scheduler = (settings: SchedulerSettings) =>
  loopService({
    name: "scheduler",
    description: `keeps each active deployment's runs scheduled up to ${settings.maxRuns} runs or ${Math.round(settings.maxScheduledSeconds / 86_400)} days ahead (every ${settings.loopSeconds} s)`,
    loopSeconds: settings.loopSeconds,
    runOnce: (report) => Effect.map(Effect.flatMap(currentDate, (now) => scheduleAt(now, settings, report)), (n) => (n > 0 ? `Scheduled ${runsText(n)}.` : ""))
  })
