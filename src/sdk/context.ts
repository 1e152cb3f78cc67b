/**
 * The ambient run: which flow run (and task run) the current code belongs to. Effect code finds it in a FiberRef,
 * async code in AsyncLocalStorage; both are set by the run actors around user bodies.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import { Effect, Fiber, FiberRef, type FiberSet, Option, type Runtime } from "effect"
import type { State, Uuid } from "../domain/index.js"
import type { HeartbeatGroup } from "../../runtime/run-actor.js"
import type { TaskRunner } from "../../runtime/task-runners.js"
import { NotInFlow } from "./errors.js"
import type { OrionServices } from "./services.js"

/** Anything a flow run keeps track of while its body runs. */
export interface FlowRunContext {
  readonly _tag: "FlowRun"
  readonly flowRunId: Uuid
  readonly flowName: string
  readonly tags: ReadonlyArray<string>
  /** The services and logger of the run, for calls made from async code. */
  readonly runtime: Runtime.Runtime<OrionServices>
  readonly taskRunner: TaskRunner
  /** Fibers started from async code, interrupted with the run. */
  readonly fibers: FiberSet.FiberSet<unknown, unknown>
  /** Every task run and subflow started in this run, for the final state when the body returns nothing. */
  readonly children: Array<{ readonly finalState: Effect.Effect<State> }>
  /** Per task key: how many runs of it this attempt has made (the next dynamic key). */
  readonly dynamicKeys: Map<string, number>
  /** Which task run produced a result object, so passing the result downstream records the edge (spec §11). */
  readonly producers: WeakMap<object, Uuid>
  /** Aborted when the run is cancelled or times out: hand it to fetch() and friends in async code. */
  readonly signal: AbortSignal
  /** The flow run's heartbeat group, which its running task runs join (absent: each beats on its own). */
  readonly heartbeats?: HeartbeatGroup
}

export interface TaskRunContext {
  readonly _tag: "TaskRun"
  readonly taskRunId: Uuid
  readonly taskName: string
  readonly flow: FlowRunContext
  readonly signal: AbortSignal
}

export type RunContext = FlowRunContext | TaskRunContext

export const CurrentRun = FiberRef.unsafeMake<RunContext | undefined>(undefined)
export const asyncRun: RunStorage = new AsyncLocalStorage<RunContext>()

/** What Orion uses of its AsyncLocalStorage, named here so that the package's declarations need no Node types. */
export interface RunStorage {
  getStore(): RunContext | undefined
  run<R>(store: RunContext, callback: () => R): R
}

/** The run the current fiber belongs to. */
export const currentRun: Effect.Effect<Option.Option<RunContext>> = Effect.map(FiberRef.get(CurrentRun), Option.fromNullable)

/** The current run's context, from Effect code (`yield* getRunContext`) — fails outside a run. */
export const getRunContext = Effect.flatMap(currentRun, Option.match({
  onNone: () => Effect.dieMessage("getRunContext: not inside a flow run or task run"),
  onSome: (ctx) => Effect.succeed(ctx)
}))

/** The current run's context from async code, or undefined outside a run. */
export const runContextOrUndefined = (): RunContext | undefined => asyncRun.getStore()

/**
 * The current run's context from any code (the fiber's run, else the async one): ids, names and the run's `signal`,
 * aborted when the run is cancelled or times out. Throws `NotInFlow` outside a flow run or task run.
 */
export const runContext = (): RunContext => {
  const ctx = ambientRun()
  if (ctx === undefined) throw new NotInFlow({ message: "runContext() was called outside a flow run or task run." })
  return ctx
}

/** The run this code belongs to: the current fiber's, else the async context's; undefined outside a run. */
export const ambientRun = (): RunContext | undefined => {
  const fiber = Fiber.getCurrentFiber()
  return (Option.isSome(fiber) ? fiber.value.getFiberRef(CurrentRun) : undefined) ?? asyncRun.getStore()
}

/** Runs `f` with `ctx` as the ambient run for both async and Effect code started inside it. */
export const withAsyncRun = <A>(ctx: RunContext, f: () => A): A => asyncRun.run(ctx, f)

/** The flow run a context belongs to. */
export const flowOf = (ctx: RunContext): FlowRunContext => ctx._tag === "FlowRun" ? ctx : ctx.flow
