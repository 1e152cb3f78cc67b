/**
 * Runs a user body — an Effect, a promise or a plain value — as the given run: the ambient run is set for both
 * Effect code (FiberRef) and async code (AsyncLocalStorage), `Effect.log*` lines carry the run's ids, and
 * interruption aborts the run's AbortSignal.
 */
import { Cause, Duration, Effect, Exit, FiberRef, FiberRefs, HashMap, Option } from "effect"
import { CurrentRun, flowOf, type RunContext, withAsyncRun } from "./context.js"

const isPromiseLike = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { then?: unknown }).then === "function"

/** Why a body did not return a value: it failed, or it ran past its timeout. */
export type BodyFailure =
  | { readonly _tag: "Failed"; readonly cause: Cause.Cause<unknown> }
  | { readonly _tag: "TimedOut"; readonly after: Duration.Duration }

export const runBody = (
  body: (...args: Array<any>) => unknown,
  args: ReadonlyArray<unknown>,
  ctx: RunContext,
  controller: { readonly abort: (reason: Error) => void },
  timeout: Option.Option<Duration.Duration>,
  options: {
    /**
     * The calling fiber exists for this run alone (a task run's actor): the ambient run and the log annotations are
     * set on it and left there, rather than set for the body and restored after it — a dozen Effect steps fewer.
     */
    readonly ownFiber?: boolean
  } = {}
): Effect.Effect<unknown, BodyFailure> => {
  const once = Effect.suspend(() => {
    const out = withAsyncRun(ctx, () => body(...args))
    if (Effect.isEffect(out)) return out as Effect.Effect<unknown, unknown>
    if (isPromiseLike(out)) return Effect.tryPromise({ try: () => Promise.resolve(out), catch: (e) => e })
    return Effect.succeed(out)
  })
  const annotations = {
    "orion.flow_run_id": flowOf(ctx).flowRunId,
    ...(ctx._tag === "TaskRun" ? { "orion.task_run_id": ctx.taskRunId, "orion.logger": `orion.task_runs.${ctx.taskName}` } : { "orion.logger": `orion.flow_runs.${ctx.flowName}` })
  }
  const asRun = options.ownFiber
    ? Effect.zipRight(
      Effect.updateFiberRefs((fiberId, refs) => {
        let logAnnotations = FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations)
        for (const [k, v] of Object.entries(annotations)) logAnnotations = HashMap.set(logAnnotations, k, v)
        // One copy of the fiber's refs for both (each `updateAs` copies them all).
        return FiberRefs.updateManyAs(refs, {
          entries: [[FiberRef.currentLogAnnotations, [[fiberId, logAnnotations]]], [CurrentRun, [[fiberId, ctx]]]]
        })
      }),
      once
    )
    : once.pipe(Effect.locally(CurrentRun, ctx), Effect.annotateLogs(annotations))
  const failed = asRun.pipe(
    Effect.onExit((exit) => Exit.isInterrupted(exit) ? Effect.sync(() => controller.abort(new Error("The run was cancelled."))) : Effect.void),
    // A defect in the body (a throw, Effect.die) fails the run like an error does.
    Effect.catchAllCause((cause): Effect.Effect<never, BodyFailure> =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.fail({ _tag: "Failed", cause }))
  )
  return Option.match(timeout, {
    onNone: () => failed,
    // The signal is aborted with the timeout as its reason before the body is interrupted (which would say "cancelled").
    onSome: (after) =>
      Effect.raceFirst(failed, Effect.sleep(after).pipe(
        Effect.zipRight(Effect.sync(() => controller.abort(new Error(`The run exceeded its timeout of ${Duration.format(after)}.`)))),
        Effect.zipRight(Effect.fail<BodyFailure>({ _tag: "TimedOut", after }))
      ))
  })
}

/**
 * A run's AbortController, made only when something asks for its signal (most task bodies never do): an abort before
 * that is remembered, so a signal asked for later is already aborted, with the same reason.
 */
export class LazyAbortController {
  private controller: AbortController | undefined
  private reason: Error | undefined

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.reason !== undefined) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  /** Aborts with `reason`; only the first abort counts, as with AbortController. */
  abort(reason: Error): void {
    if (this.reason !== undefined) return
    this.reason = reason
    this.controller?.abort(reason)
  }
}

/** A failure's message for a Failed state: the error's own message, without stack noise. */
export const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) return `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`
  if (typeof error === "object" && error !== null && "message" in error) return String((error as { message: unknown }).message)
  return typeof error === "string" ? error : JSON.stringify(error) ?? String(error)
}
