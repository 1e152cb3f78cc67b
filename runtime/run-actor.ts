/**
 * The run actor: one flow run or task run asking the orchestrator for each transition and obeying the answer
 * (WAIT → sleep and ask again; REJECT → adopt the state given; ABORT → stop), around one body execution per attempt,
 * heartbeating while it runs.
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Fiber, FiberRef, Option, Schema } from "effect"
import type { OrchestrationResult, RunRef, State, StateCreate } from "../src/domain/index.js"
import { isTerminal, States } from "../src/domain/index.js"
import { type ClientError, OrionClient } from "../src/client/orion-client.js"
import { ResultStore, type ResultStoreError } from "./results.js"
import { attemptFailed, runEnded, type RunReport } from "../src/sdk/report.js"
import { isTracing } from "./internal/tracing.js"
import { HeartbeatGroup, runWatch } from "./run-watch.js"

export { HeartbeatGroup }

/** The orchestrator aborted a transition: the run stops where it is. */
export class RunAborted extends Schema.TaggedError<RunAborted>()("RunAborted", {
  run_id: Schema.String,
  message: Schema.String
}) {}

/** What one execution of a run's body produced: the terminal state to propose and, when it completed, its value. */
export interface Attempt {
  readonly proposal: StateCreate
  readonly value: Option.Option<unknown>
}

/** How a run ended: its final state and, when it completed, its value (in memory, or rehydrated from the store). */
export interface RunOutcome {
  readonly state: State
  readonly value: Option.Option<unknown>
}

export type ActorError = ClientError | RunAborted | ResultStoreError

/** Proposes `state`; on WAIT sleeps the given delay and proposes again; ABORT becomes `RunAborted`. */
export const proposeObeying = (ref: RunRef, state: StateCreate, options?: { readonly force?: boolean }) =>
  Effect.flatMap(OrionClient, (client) => {
    // Combinators rather than a generator: this runs for every transition of every run.
    const ask: Effect.Effect<OrchestrationResult & { readonly state: State }, ClientError | RunAborted> = Effect.flatMap(
      client.proposeState(ref, state, options),
      (answer) => {
        switch (answer.status) {
          case "WAIT":
            // The delay is the longest wait: a task run waiting for a concurrency slot asks again as soon as one frees.
            return Effect.zipRight(Effect.race(
              Effect.sleep(Duration.seconds(answer.details.type === "wait_details" ? answer.details.delay_seconds : 1)),
              client.slotWait(ref)
            ), ask)
          case "ABORT":
            return Effect.fail(new RunAborted({
              run_id: ref.id,
              message: `the orchestrator aborted ${ref.kind} ${ref.id}'s move to ${state.type}: ${answer.details.type === "abort_details" ? answer.details.reason ?? "no reason given" : "no reason given"}`
            }))
          default:
            return Effect.succeed(answer as OrchestrationResult & { readonly state: State })
        }
      }
    )
    return ask
  })

/** Sleeps until a SCHEDULED state's time (now if it has none or it has passed). */
export const sleepUntilScheduled = (state: State) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const at = state.state_details.scheduled_time?.getTime() ?? now
    return at > now ? Effect.sleep(Duration.millis(at - now)) : Effect.void
  })

/** How often a running run records its heartbeat (`ORION_HEARTBEAT_INTERVAL`, default 30 s; the services layer sets it). */
export class HeartbeatInterval extends Context.Reference<HeartbeatInterval>()("orion/HeartbeatInterval", {
  defaultValue: (): Duration.Duration => Duration.seconds(30)
}) {}

/**
 * What a run does once its body has ended for good — it returned, and its Completed state is about to be proposed, so
 * the body will not run again. The sequential task runner hands its turn to the next run here: that run's start
 * then reaches the orchestrator with this one's Completed, and both are committed together.
 */
export const BodyEnded = FiberRef.unsafeMake<Effect.Effect<void>>(Effect.void)

/** How a run heartbeats while running: alone (default), leading a group, or as a member of its flow run's group. */
export type HeartbeatRole = { readonly lead: HeartbeatGroup } | { readonly member: HeartbeatGroup }

/** Runs `effect` while the run is heartbeated every interval (by the process's run watch); the heartbeats stop when it ends. */
const whileHeartbeating = <A, E, R>(ref: RunRef, role: HeartbeatRole | undefined, effect: Effect.Effect<A, E, R>) => {
  if (role !== undefined && "member" in role) {
    // The run actor leaves the group when the body returns and, whatever happens, when it ends (see `runActor`).
    role.member.members.set(ref.id, ref)
    return effect
  }
  return Effect.flatMap(HeartbeatInterval, (every) =>
    Effect.flatMap(Effect.runtime<OrionClient>(), (runtime) => {
      const stop = runWatch.heartbeat(ref, role?.lead, every, runtime)
      return Effect.ensuring(effect, Effect.sync(stop))
    }))
}

/** A terminal state handed to us (e.g. Cached): its value comes from the result store. */
const adopt = (state: State) =>
  state.type === "COMPLETED"
    ? Effect.map(Effect.flatMap(ResultStore, (store) => store.retrieve(state.data)), (v): RunOutcome => ({ state, value: Option.some(v) }))
    : Effect.succeed<RunOutcome>({ state, value: Option.none() })

/**
 * Proposes Running. A run that has already ended — a task run that completed in an earlier attempt of its flow run —
 * is aborted by the orchestrator; it is then adopted as it is (its result rehydrated) rather than crashed.
 */
const proposeStart = (ref: RunRef, running: StateCreate) =>
  Effect.catchTag(proposeObeying(ref, running), "RunAborted", (aborted) =>
    Effect.gen(function*() {
      const client = yield* OrionClient
      const run = ref.kind === "flow_run" ? yield* client.readFlowRun(ref.id) : yield* client.readTaskRun(ref.id)
      if (run.state === null || !isTerminal(run.state.type)) return yield* aborted
      return { status: "REJECT" as const, state: run.state }
    }))

export interface RunActorSpec<R> {
  readonly ref: RunRef
  /** The Running proposal (with the cache key, for task runs). */
  readonly running: StateCreate
  /** The orchestrator's answer to the first Running proposal when it was already made (with the run's create). */
  readonly started?: OrchestrationResult | undefined
  /** One execution of the body; failures are already turned into a Failed/TimedOut proposal. */
  readonly execute: Effect.Effect<Attempt, never, R>
  /** While the body runs, how often to look for an external request to cancel the run (none: not watched). */
  readonly cancelWatch?: Duration.Duration | undefined
  /** How the run heartbeats while running (default: a fiber of its own). */
  readonly heartbeats?: HeartbeatRole | undefined
  /** Who the run is: for the lines it logs about itself (a failed attempt, its retry, its end) and its span. */
  readonly report?: RunReport | undefined
}

/** Polls the run until it is asked to cancel (state CANCELLING or CANCELLED), then returns. */
const watchForCancel = (ref: RunRef, every: Duration.Duration) =>
  Effect.gen(function*() {
    const client = yield* OrionClient
    while (true) {
      yield* Effect.sleep(every)
      const type = yield* Effect.either(ref.kind === "flow_run"
        ? Effect.map(client.readFlowRun(ref.id), (r) => r.state_type)
        : Effect.map(client.readTaskRun(ref.id), (r) => r.state_type))
      if (type._tag === "Right" && (type.right === "CANCELLING" || type.right === "CANCELLED")) return
    }
  })

/**
 * Sleeps until a SCHEDULED state's time (an AwaitingRetry's, say) or, when the run is watched, until it is cancelled
 * meanwhile — then its next Running proposal is refused and the run ends as it stands, rather than at the retry time.
 */
const waitScheduled = <R>(spec: RunActorSpec<R>, state: State) =>
  spec.cancelWatch === undefined ? sleepUntilScheduled(state) : Effect.raceFirst(sleepUntilScheduled(state), watchForCancel(spec.ref, spec.cancelWatch))

/**
 * Runs one run to its end: Running → body → terminal state, looping through AwaitingRetry, adopting rejections.
 * Interruption ends the run in Cancelled; a failure outside the body (Orion unreachable, an abort) in Crashed.
 */
export const runActor = <R>(spec: RunActorSpec<R>): Effect.Effect<RunOutcome, ActorError, R | OrionClient | ResultStore> => {
  const { ref, report } = spec
  const group = spec.heartbeats !== undefined && "member" in spec.heartbeats ? spec.heartbeats.member : undefined
  const leaveGroup = () => void group?.members.delete(ref.id)
  let attempts = 0
  const ended = (outcome: RunOutcome) => report === undefined ? Effect.succeed(outcome) : Effect.as(runEnded(report, outcome.state, attempts), outcome)
  // Combinators rather than a generator: every task run goes through here. Each pass proposes Running (unless the
  // answer came with the run's create), runs the body, proposes its terminal state, and starts over when told to retry.
  const pass = (answered: OrchestrationResult | undefined): Effect.Effect<RunOutcome, ActorError, R | OrionClient | ResultStore> => {
    const start = answered !== undefined && (answered.status === "ACCEPT" || answered.status === "REJECT") && answered.state !== null
      ? Effect.succeed(answered as OrchestrationResult & { readonly state: State })
      : proposeStart(ref, spec.running)
    const again = Effect.suspend(() => pass(undefined))
    return Effect.flatMap(start, (started) => {
      if (started.status === "REJECT") {
        if (started.state.type === "SCHEDULED") return Effect.zipRight(waitScheduled(spec, started.state), again)
        if (started.state.type !== "RUNNING") return Effect.flatMap(adopt(started.state), ended)
      }
      attempts++
      return Effect.flatMap(whileHeartbeating(ref, spec.heartbeats, executeWatched(spec)), (result) => {
        leaveGroup()
        if (Option.isNone(result)) {
          return Effect.flatMap(proposeObeying(ref, States.Cancelled({ message: "The run was cancelled while running." }), { force: true }),
            (cancelled) => ended({ state: cancelled.state, value: Option.none() }))
        }
        const { proposal, value } = result.value
        const propose = endCancelledMeanwhile(ref, proposeObeying(ref, proposal))
        return Effect.flatMap(proposal.type === "COMPLETED" ? Effect.zipRight(Effect.flatten(FiberRef.get(BodyEnded)), propose) : propose, (answer) => {
          if (answer.status === "ACCEPT") return ended({ state: answer.state, value: answer.state.type === "CANCELLED" ? Option.none() : value })
          if (answer.state.type === "SCHEDULED") {
            const retry = Effect.zipRight(waitScheduled(spec, answer.state), again)
            return report === undefined || proposal.type === "COMPLETED" ? retry
              : Effect.zipRight(attemptFailed(report, proposal.message ?? proposal.name ?? proposal.type, answer.state, attempts), retry)
          }
          if (isTerminal(answer.state.type)) return Effect.flatMap(adopt(answer.state), ended)
          return again
        })
      })
    })
  }
  const actor = pass(spec.started).pipe(
    Effect.onExit((exit) => {
      leaveGroup()
      return Exit.isInterrupted(exit) ? endInterrupted(ref) : Exit.isFailure(exit) ? endCrashed(ref, exit.cause, report) : Effect.void
    })
  )
  if (report === undefined) return actor
  const counted = Effect.tap(actor, () => Effect.annotateCurrentSpan("orion.run.attempts", attempts))
  // A flow run's span is opened by flow() before the run is created (so its creation is in it); a task run's here.
  return Effect.tracerWith((tracer) =>
    !isTracing(tracer) ? actor
      : report.kind === "Flow run" ? counted
      : runSpan("orion.task_run", {
        "orion.task_run.id": report.taskRunId, "orion.task_run.name": report.name, "orion.task.name": report.definition, "orion.flow_run.id": report.flowRunId
      }, counted))
}

/**
 * The body ended just as a cancel request came, before the watcher saw it: its end is refused (a run being cancelled
 * may only become Cancelled), so the run ends Cancelled, as asked, instead of staying Cancelling.
 */
const endCancelledMeanwhile = (
  ref: RunRef,
  propose: Effect.Effect<OrchestrationResult & { readonly state: State }, ClientError | RunAborted, OrionClient>
): Effect.Effect<OrchestrationResult & { readonly state: State }, ClientError | RunAborted, OrionClient> =>
  Effect.catchTag(propose, "RunAborted", (aborted) =>
    Effect.flatMap(OrionClient, (client) =>
      Effect.flatMap(ref.kind === "flow_run" ? Effect.map(client.readFlowRun(ref.id), (r) => r.state_type) : Effect.map(client.readTaskRun(ref.id), (r) => r.state_type), (type) =>
        type === "CANCELLING"
          ? proposeObeying(ref, States.Cancelled({ message: "The run was cancelled as it ended." }))
          : Effect.fail(aborted))))

/** Why a run's span ends in error: the run ended in a state other than Completed. */
class RunNotCompleted extends Error {
  constructor(readonly outcome: RunOutcome) {
    super(`${outcome.state.name}${outcome.state.message ? `: ${outcome.state.message}` : ""}`)
    this.name = outcome.state.name
  }
}

/**
 * A run's span (`orion.flow_run` / `orion.task_run`) around `run`, when tracing: its final state as attributes; a run
 * that did not complete ends the span in error, the state's message recorded as the exception.
 */
export const runSpan = <E, R>(name: string, attributes: Record<string, unknown>, run: Effect.Effect<RunOutcome, E, R>): Effect.Effect<RunOutcome, E, R> =>
  Effect.tracerWith((tracer) => !isTracing(tracer) ? run : Effect.useSpan(name, { attributes }, (span) =>
    Effect.withParentSpan(run, span).pipe(
      Effect.flatMap((outcome) => {
        span.attribute("orion.state.type", outcome.state.type)
        span.attribute("orion.state.name", outcome.state.name)
        return outcome.state.type === "COMPLETED" ? Effect.succeed(outcome) : Effect.fail(new RunNotCompleted(outcome))
      })
    )).pipe(Effect.catchIf((e): e is RunNotCompleted => e instanceof RunNotCompleted, (e) => Effect.succeed(e.outcome))))

/**
 * The body; when watched, in a fiber of its own that is interrupted once someone asks to cancel the run (the process's
 * run watch looks for such requests). None when it was cancelled.
 */
const executeWatched = <R>(spec: RunActorSpec<R>): Effect.Effect<Option.Option<Attempt>, never, R | OrionClient> => {
  if (spec.cancelWatch === undefined) return Effect.map(spec.execute, Option.some)
  const every = spec.cancelWatch
  return Effect.flatMap(Effect.runtime<OrionClient>(), (runtime) =>
    Effect.flatMap(Effect.fork(spec.execute), (body) => {
      let asked = false
      const stop = runWatch.cancelRequests(spec.ref, every, runtime, () => {
        asked = true
        body.unsafeInterruptAsFork(body.id())
      })
      return Effect.ensuring(
        Effect.flatMap(Fiber.await(body), (exit) =>
          Exit.isSuccess(exit) ? Effect.succeed(Option.some(exit.value))
            : asked && Exit.isInterrupted(exit) ? Effect.succeed(Option.none<Attempt>())
            : Effect.failCause(exit.cause)),
        Effect.sync(stop)
      )
    }))
}

const endInterrupted = (ref: RunRef) =>
  Effect.ignore(Effect.flatMap(OrionClient, (client) =>
    client.proposeState(ref, States.Cancelled({ message: "The run was interrupted." }), { force: true })))

const endCrashed = (ref: RunRef, cause: Cause.Cause<ActorError>, report: RunReport | undefined) => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && failure.value._tag === "RunAborted") return Effect.void
  const message = Option.match(failure, { onNone: () => Cause.pretty(cause), onSome: (e) => e.message })
  return Effect.zipRight(report === undefined ? Effect.void : runEnded(report, { type: "CRASHED", name: "Crashed", message: `Orion could not run this to its end: ${message}` }, 0), Effect.ignore(Effect.flatMap(OrionClient, (client) =>
    client.proposeState(ref, States.Crashed({ message: `Orion could not run this to its end: ${message}` }), { force: true }))))
}
