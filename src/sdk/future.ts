/** A submitted task run: wait for its final state, take its result, or read its current state from Orion. */
import { Context, Effect, Exit, Fiber, Option } from "effect"
import type { State, Uuid } from "../domain/index.js"
import { OrionClient } from "../client/orion-client.js"
import type { Once } from "../../runtime/internal/once.js"
import type { ActorError, RunOutcome } from "../../runtime/run-actor.js"
import { type Call, call } from "./call.js"
import { TaskRunFailed } from "./errors.js"
import { flowOf, type RunContext } from "./context.js"

export class TaskFuture<A> {
  /**
   * The task run's actor while it runs, and where its id is given once created (idempotent creates may find an
   * existing run). Once the run has ended only its exit and id are kept: a flow mapping a task over 10,000 items
   * holds 10,000 futures, so none keeps a fiber or a waiting place it no longer needs.
   */
  private fiber: Fiber.Fiber<RunOutcome, ActorError> | undefined
  private exit: Exit.Exit<RunOutcome, ActorError> | undefined
  private idOnce: Once<Uuid, unknown> | undefined
  private knownId: Uuid | undefined

  /** @internal */
  constructor(
    readonly taskName: string,
    id: Once<Uuid, unknown>,
    /** Where the run's creation notes its id (as it completes `id`), for the future to keep once the run has ended. */
    created: { readonly id?: Uuid | undefined },
    fiber: Fiber.RuntimeFiber<RunOutcome, ActorError>,
    private readonly ctx: RunContext
  ) {
    this.fiber = fiber
    this.idOnce = id
    fiber.addObserver((exit) => {
      this.exit = exit
      this.fiber = undefined
      if (created.id !== undefined) {
        this.knownId = created.id
        this.idOnce = undefined
      }
    })
  }

  /** @internal the task run's id, once created; fails as its creation failed. */
  awaitId(): Effect.Effect<Uuid, unknown> {
    return this.knownId !== undefined ? Effect.succeed(this.knownId) : this.idOnce!.await
  }

  /** @internal the id if the run has been created (None if not yet, or never). */
  private get idNow(): Effect.Effect<Option.Option<Uuid>> {
    if (this.knownId !== undefined) return Effect.succeedSome(this.knownId)
    const given = this.idOnce!.poll()
    return Effect.succeed(given !== undefined && Exit.isSuccess(given) ? Option.some(given.value) : Option.none())
  }

  /** @internal the actor's exit, when it has ended. */
  private get ended(): Effect.Effect<Exit.Exit<RunOutcome, ActorError>> {
    return Effect.suspend(() => this.exit !== undefined ? Effect.succeed(this.exit) : Fiber.await(this.fiber!))
  }

  /** The task run's id (waits until it has been created). */
  get taskRunId(): Call<Uuid, unknown> {
    return call(() => this.awaitId())
  }

  /** @internal the outcome, never failing: a crashed or interrupted run reads its state back from Orion. */
  get outcome(): Effect.Effect<RunOutcome> {
    if (this.exit !== undefined && Exit.isSuccess(this.exit)) return Effect.succeed(this.exit.value)
    return Effect.flatMap(this.ended, (exit) =>
    Exit.isSuccess(exit)
      ? Effect.succeed(exit.value)
      : Effect.map(this.stateNow, (state): RunOutcome => ({ state, value: Option.none() })))
  }

  /** @internal the current state from Orion, or a local Crashed stand-in when it cannot be read. */
  private get stateNow(): Effect.Effect<State> {
    return Effect.gen(this, function*() {
      const id = yield* this.idNow
      const client = Context_get(this.ctx)
      const run = Option.isSome(id) ? yield* Effect.option(client.readTaskRun(id.value)) : Option.none()
      const state = Option.flatMap(run, (r) => Option.fromNullable(r.state))
      return Option.getOrElse(state, () => crashedStandIn(this.taskName))
    })
  }

  /** @internal the final state, for the flow run's own final state. */
  get finalState(): Effect.Effect<State> {
    return Effect.map(this.outcome, (o) => o.state)
  }

  /** Waits for the final state of the task run. */
  wait(): Call<State, never> {
    return call(() => this.finalState)
  }

  /** Waits for the task run and returns its result; fails with `TaskRunFailed` if it did not complete. */
  result(): Call<A, TaskRunFailed> {
    return call(() => Effect.flatMap(this.outcome, (o) => outcomeValue<A>(this.taskName, o)))
  }

  /** The task run's current state as Orion has it now. */
  state(): Call<State | null, unknown> {
    return call(() => Effect.gen(this, function*() {
      const id = yield* this.awaitId()
      const run = yield* Context_get(this.ctx).readTaskRun(id)
      return run.state
    }))
  }
}

/** A completed run's value, or `TaskRunFailed` naming its final state. */
export const outcomeValue = <A>(task: string, outcome: RunOutcome): Effect.Effect<A, TaskRunFailed> =>
  outcome.state.type === "COMPLETED"
    ? Effect.succeed(Option.getOrUndefined(outcome.value) as A)
    : Effect.fail(new TaskRunFailed({
      task,
      task_run_id: outcome.state.state_details.task_run_id,
      state: outcome.state.name,
      message: `Task run '${task}' ended ${outcome.state.name} (${outcome.state.type})${outcome.state.message ? `: ${outcome.state.message}` : ""}`
    }))

const crashedStandIn = (task: string): State => ({
  id: "00000000-0000-0000-0000-000000000000" as Uuid,
  type: "CRASHED",
  name: "Crashed",
  timestamp: new Date(),
  message: `Task run '${task}' could not be run to its end.`,
  data: null,
  state_details: { flow_run_id: null, task_run_id: null, child_flow_run_id: null, scheduled_time: null, cache_key: null, cache_expiration: null }
})

const Context_get = (ctx: RunContext) => Context.get(flowOf(ctx).runtime.context, OrionClient)

export const isTaskFuture = (u: unknown): u is TaskFuture<unknown> => u instanceof TaskFuture
