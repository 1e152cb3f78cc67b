/**
 * The run actor: one flow run or task run asking the orchestrator for each transition and obeying the answer
 * (WAIT → sleep and ask again; REJECT → adopt the state given; ABORT → stop), around one body execution per attempt.
 */
import { Cause, Clock, Duration, Effect, Exit, Fiber, Option, Schema } from "effect"
import type { OrchestrationResult, RunRef, State, StateCreate } from "../src/domain/index.js"
import { isTerminal, States } from "../src/domain/index.js"
import { type ClientError, OrionClient } from "../src/client/orion-client.js"
import { ResultStore, type ResultStoreError } from "./results.js"

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
  Effect.gen(function*() {
    const client = yield* OrionClient
    while (true) {
      const answer: OrchestrationResult = yield* client.proposeState(ref, state, options)
      switch (answer.status) {
        case "WAIT":
          yield* Effect.sleep(Duration.seconds(answer.details.type === "wait_details" ? answer.details.delay_seconds : 1))
          continue
        case "ABORT":
          return yield* new RunAborted({
            run_id: ref.id,
            message: `the orchestrator aborted ${ref.kind} ${ref.id}'s move to ${state.type}: ${answer.details.type === "abort_details" ? answer.details.reason ?? "no reason given" : "no reason given"}`
          })
        default:
          return answer as OrchestrationResult & { readonly state: State }
      }
    }
  })

/** Sleeps until a SCHEDULED state's time (now if it has none or it has passed). */
export const sleepUntilScheduled = (state: State) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const at = state.state_details.scheduled_time?.getTime() ?? now
    return at > now ? Effect.sleep(Duration.millis(at - now)) : Effect.void
  })

/** A terminal state handed to us (e.g. Cached): its value comes from the result store. */
const adopt = (state: State) =>
  state.type === "COMPLETED"
    ? Effect.map(Effect.flatMap(ResultStore, (store) => store.retrieve(state.data)), (v): RunOutcome => ({ state, value: Option.some(v) }))
    : Effect.succeed<RunOutcome>({ state, value: Option.none() })

export interface RunActorSpec<R> {
  readonly ref: RunRef
  /** The Running proposal (with the cache key, for task runs). */
  readonly running: StateCreate
  /** One execution of the body; failures are already turned into a Failed/TimedOut proposal. */
  readonly execute: Effect.Effect<Attempt, never, R>
  /** While the body runs, how often to look for an external request to cancel the run (none: not watched). */
  readonly cancelWatch?: Duration.Duration | undefined
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
 * Runs one run to its end: Running → body → terminal state, looping through AwaitingRetry, adopting rejections.
 * Interruption ends the run in Cancelled; a failure outside the body (Orion unreachable, an abort) in Crashed.
 */
export const runActor = <R>(spec: RunActorSpec<R>): Effect.Effect<RunOutcome, ActorError, R | OrionClient | ResultStore> => {
  const { ref } = spec
  const attempt = Effect.gen(function*() {
    let proposal = spec.running
    while (true) {
      const started = yield* proposeObeying(ref, proposal)
      if (started.status === "REJECT") {
        if (started.state.type === "SCHEDULED") {
          yield* sleepUntilScheduled(started.state)
          proposal = spec.running
          continue
        }
        if (started.state.type !== "RUNNING") return yield* adopt(started.state)
      }
      const result = yield* executeWatched(spec)
      if (Option.isNone(result)) {
        const cancelled = yield* proposeObeying(ref, States.Cancelled({ message: "The run was cancelled while running." }), { force: true })
        return { state: cancelled.state, value: Option.none() }
      }
      const ended = yield* proposeObeying(ref, result.value.proposal)
      if (ended.status === "ACCEPT") return { state: ended.state, value: result.value.value }
      if (ended.state.type === "SCHEDULED") {
        yield* sleepUntilScheduled(ended.state)
        proposal = spec.running
        continue
      }
      if (isTerminal(ended.state.type)) return yield* adopt(ended.state)
      proposal = spec.running
    }
  })
  return attempt.pipe(
    Effect.onExit((exit) => Exit.isInterrupted(exit) ? endInterrupted(ref) : Exit.isFailure(exit) ? endCrashed(ref, exit.cause) : Effect.void)
  )
}

/** The body, raced against an external cancel request when watched; None when it was cancelled. */
const executeWatched = <R>(spec: RunActorSpec<R>) => {
  if (spec.cancelWatch === undefined) return Effect.map(spec.execute, Option.some)
  return Effect.gen(function*() {
    const body = yield* Effect.fork(spec.execute)
    const watcher = yield* Effect.fork(watchForCancel(spec.ref, spec.cancelWatch!))
    const winner = yield* Effect.raceFirst(Effect.map(Fiber.join(body), Option.some), Effect.as(Fiber.join(watcher), Option.none<Attempt>()))
    yield* Fiber.interrupt(watcher)
    if (Option.isNone(winner)) yield* Fiber.interrupt(body)
    return winner
  })
}

const endInterrupted = (ref: RunRef) =>
  Effect.ignore(Effect.flatMap(OrionClient, (client) =>
    client.proposeState(ref, States.Cancelled({ message: "The run was interrupted." }), { force: true })))

const endCrashed = (ref: RunRef, cause: Cause.Cause<ActorError>) => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && failure.value._tag === "RunAborted") return Effect.void
  const message = Option.match(failure, { onNone: () => Cause.pretty(cause), onSome: (e) => e.message })
  return Effect.ignore(Effect.flatMap(OrionClient, (client) =>
    client.proposeState(ref, States.Crashed({ message: `Orion could not run this to its end: ${message}` }), { force: true })))
}
