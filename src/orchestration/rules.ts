/**
 * The core orchestration rules (spec §3.4–3.5, §11): each declares the transitions it watches and what it does.
 * The whole behaviour of the engine is this file plus `transforms.ts`, ordered in `policies.ts`.
 */
import { Effect, Option, Random } from "effect"
import { baseRetryDelay, copyState, States, type RunPolicy, type StateType } from "../domain/index.js"
import { rule, type RuleContext } from "./rule.js"
import { ALL, except, only, TERMINAL } from "./states.js"
import { OrchestrationStore, type StoreError } from "./store.js"

/** A terminated run stays terminated (Prefect 2 applies this to flows too). */
export const PreventTransitionsFromTerminalStates = rule({
  name: "PreventTransitionsFromTerminalStates",
  from: TERMINAL,
  to: ALL,
  before: (ctx) => ctx.abort("This run has already terminated.")
})

/** A run being cancelled may only become Cancelled. */
export const HandleCancellingStateTransitions = rule({
  name: "HandleCancellingStateTransitions",
  from: only("CANCELLING"),
  to: except("CANCELLED", "CANCELLING"),
  before: (ctx) => ctx.abort("This run is being cancelled: it may only become Cancelled.")
})

const progress: Partial<Record<StateType | "null", number>> = { null: 0, SCHEDULED: 1, PENDING: 2, RUNNING: 3, CANCELLING: 4 }
const progressing = only("SCHEDULED", "PENDING", "RUNNING", "CANCELLING")

/**
 * No backwards progress, no same-type moves (Scheduled < Pending < Running < Cancelling): two agents can't both start a
 * run. One same-type move is progress: a run still named Scheduled becoming Late (the late-runs service); so a run
 * that an agent has just started is not sent back to Late, where another agent could start it again.
 */
export const PreventRedundantTransitions = rule({
  name: "PreventRedundantTransitions",
  from: [null, ...progressing],
  to: progressing,
  before: (ctx) => {
    const from = ctx.initial?.type ?? null
    const to = ctx.proposed!.type
    if (from === "SCHEDULED" && to === "SCHEDULED" && ctx.initial!.name === "Scheduled" && ctx.proposed!.name === "Late") return
    if (progress[to]! <= progress[from ?? "null"]!) {
      ctx.abort(`This run cannot transition to the ${to} state from the ${from ?? "(no)"} state.`)
    }
  }
})

/**
 * Cancelling a flow run that has not started running cancels it at once: nothing is running that would have to stop,
 * so Scheduled or Pending → Cancelling is stored as Cancelled (a process about to start it then finds it ended).
 */
export const CancelRunsNotYetRunning = rule({
  name: "CancelRunsNotYetRunning",
  from: [null, "SCHEDULED", "PENDING"],
  to: only("CANCELLING"),
  before: (ctx) =>
    ctx.reject(
      States.Cancelled({ message: ctx.proposed!.message ?? `Cancelled before it ran (it was ${ctx.initial?.name ?? "without a state"}).` }),
      "The run had not started running: it is cancelled at once."
    )
})

/** A scheduled run waits until its scheduled time before it may start (this is what makes agents wait). */
export const WaitForScheduledTime = rule({
  name: "WaitForScheduledTime",
  from: only("SCHEDULED"),
  to: only("PENDING", "RUNNING"),
  before: (ctx) => {
    const at = ctx.initial?.state_details.scheduled_time
    if (!at) return
    const delay = (at.getTime() - ctx.now.getTime()) / 1000
    if (delay > 0) ctx.delay(delay, "Scheduled time is in the future")
  }
})

/** The delay before retry number `retry`, with jitter drawn uniformly within ±factor. */
const retryDelaySeconds = (policy: RunPolicy, retry: number) =>
  Effect.map(Random.next, (u) => {
    const base = baseRetryDelay(policy.retry_delay_seconds, retry)
    return Math.max(0, base * (1 + policy.retry_jitter_factor * (2 * u - 1)))
  })

const retryFailures = (
  name: string,
  to: StateType,
  onRetry?: (ctx: RuleContext) => Effect.Effect<void, StoreError, OrchestrationStore>,
  asks: (policy: RunPolicy) => boolean = () => true
) => rule({
  name,
  from: only("RUNNING"),
  to: only(to),
  before: (ctx) =>
    Effect.gen(function*() {
      const { run_count, empirical_policy } = ctx.run
      if (run_count > empirical_policy.max_retries || !asks(empirical_policy)) return
      const delay = yield* retryDelaySeconds(empirical_policy, run_count)
      ctx.reject(States.AwaitingRetry({
        scheduledTime: new Date(ctx.now.getTime() + delay * 1000),
        message: ctx.proposed!.message,
        data: ctx.proposed!.data
      }), `Retrying (retry ${run_count} of ${empirical_policy.max_retries})`)
      if (onRetry !== undefined) yield* onRetry(ctx)
    })
})

/** A failed task run is retried while it has retries left: it waits in AwaitingRetry, then runs as Retrying. */
export const RetryFailedTasks = retryFailures("RetryFailedTasks", "FAILED")

/** Resets the flow run's failed, crashed and cancelled task runs, so that its retry runs them again. */
const resetTaskRuns = (ctx: RuleContext) =>
  Effect.gen(function*() {
    const store = yield* OrchestrationStore
    const failed = yield* store.taskRunIdsInStates(ctx.run.id, ["FAILED", "CRASHED", "CANCELLED"])
    for (const id of failed) {
      yield* store.forceState("task_run", id, States.AwaitingRetry({ scheduledTime: ctx.now, message: "Reset for a retry of its flow run" }), { resetRunCount: true })
    }
  })

/** A failed flow run is retried like a task; when it is, its failed task runs are reset so they run again. */
export const RetryFailedFlows = retryFailures("RetryFailedFlows", "FAILED", resetTaskRuns)

/** A crashed flow run is retried like a failed one when its policy asks for it (`retry_crashed`). */
export const RetryCrashedFlows = retryFailures("RetryCrashedFlows", "CRASHED", resetTaskRuns, (policy) => policy.retry_crashed === true)

/** A run entering Running again is named Retrying (after AwaitingRetry) or Rerunning. */
export const RenameReruns = rule({
  name: "RenameReruns",
  from: ALL,
  to: only("RUNNING"),
  before: (ctx) => {
    if (ctx.run.run_count > 0) ctx.rename(ctx.initial?.name === "AwaitingRetry" ? "Retrying" : "Rerunning")
  }
})

/** A task run proposing Running with a cache key that has a live entry gets the cached result instead of running. */
export const CacheRetrieval = rule({
  name: "CacheRetrieval",
  from: ALL,
  to: only("RUNNING"),
  before: (ctx) => {
    const key = ctx.proposed!.state_details.cache_key
    if (!key) return
    return Effect.gen(function*() {
      const cached = yield* (yield* OrchestrationStore).findCachedState(key, ctx.now)
      if (Option.isSome(cached)) ctx.reject(copyState(cached.value, ctx.now, { name: "Cached" }), "Retrieved state from cache")
    })
  }
})

/** A completed task run with a cache key becomes a cache entry, valid until its cache expiration. */
export const CacheInsertion = rule({
  name: "CacheInsertion",
  from: ALL,
  to: only("COMPLETED"),
  after: (ctx) => {
    const s = ctx.validated
    const key = s?.state_details.cache_key
    if (!s || !key) return
    return Effect.gen(function*() {
      yield* (yield* OrchestrationStore).insertCacheEntry({
        cache_key: key,
        cache_expiration: s.state_details.cache_expiration,
        task_run_state_id: s.id,
        task_run_id: ctx.run.id
      }, ctx.now)
    })
  }
})

/** Frees the run's slots under its tags' limits; nothing to do (undefined) for a run without tags. */
const releaseSlots = (runId: string, tags: ReadonlyArray<string>, now: Date): Effect.Effect<void, StoreError, OrchestrationStore> | undefined =>
  tags.length === 0 ? undefined : Effect.gen(function*() {
    const store = yield* OrchestrationStore
    for (const limit of yield* store.limitsForTags(tags)) {
      if (limit.active_slots.includes(runId as never)) {
        yield* store.setActiveSlots(limit.id, limit.active_slots.filter((s) => s !== runId), now)
        yield* store.slotFreed(limit.tag)
      }
    }
  })

/** A task run may enter Running only with a free slot under every tag limit it carries (spec §11). */
export const SecureTaskConcurrencySlots = rule({
  name: "SecureTaskConcurrencySlots",
  from: ALL,
  to: only("RUNNING"),
  before: (ctx) =>
    ctx.run.tags.length === 0 ? undefined : Effect.gen(function*() {
      const { id, tags } = ctx.run
      const store = yield* OrchestrationStore
      const taken: Array<string> = []
      for (const limit of yield* store.limitsForTags(tags)) {
        if (limit.active_slots.includes(id as never)) continue
        if (limit.concurrency_limit === 0) {
          ctx.abort(`The concurrency limit on tag '${limit.tag}' is 0: this run could never start.`)
        } else if (limit.active_slots.length >= limit.concurrency_limit) {
          // The delay is the longest wait: the run is woken as soon as a slot under the tag frees (`awaitSlot`).
          ctx.delay(30, `Concurrency limit for the '${limit.tag}' tag has been reached (${limit.concurrency_limit}).`)
          yield* store.awaitSlot(id, limit.tag)
        } else {
          yield* store.setActiveSlots(limit.id, [...limit.active_slots, id], ctx.now)
          taken.push(limit.tag)
          continue
        }
        const release = releaseSlots(id, taken, ctx.now)
        if (release) yield* release
        return
      }
    }),
  cleanup: (ctx) => releaseSlots(ctx.run.id, ctx.run.tags, ctx.now)
})

/** Leaving Running frees the run's slots; this rule applies even to forced transitions. */
export const ReleaseTaskConcurrencySlots = rule({
  name: "ReleaseTaskConcurrencySlots",
  from: only("RUNNING"),
  to: except("RUNNING"),
  after: (ctx) => releaseSlots(ctx.run.id, ctx.run.tags, ctx.now)
})
