/**
 * Steps: code written as a generator of Effects, as for `Effect.gen`, that can be driven two ways — by Effect
 * (`Effect.gen(() => steps)`), or synchronously (`runStepsSync`) when every Effect it yields completes at once, as the
 * orchestrator's SQLite queries do. Driven synchronously, the plain-JS parts between yields cost no Effect operations.
 */
import { Cause, Effect, Exit, FiberId, Runtime, type Utils } from "effect"
import { yieldWrapGet } from "effect/Utils"

/** A generator as `Effect.gen` takes it: it yields Effects (wrapped) and returns `A`. */
export type Steps<A, E = never, R = never> = Generator<Utils.YieldWrap<Effect.Effect<any, E, R>>, A, any>

/** The steps as an Effect. */
export const toEffect = <A, E, R>(steps: () => Steps<A, E, R>): Effect.Effect<A, E, R> => Effect.gen(steps)

/**
 * Runs `steps` to its end in this call stack: each yielded Effect runs at once on `runtime` and its value is handed
 * back. The first failure ends the steps (as in `Effect.gen`); an exception thrown by them is a defect. A yielded
 * Effect that would have to wait is a defect too: only steps whose Effects are all synchronous may be run this way.
 */
export const runStepsSync = <A, E, R>(steps: Steps<A, E, R>, runtime: Runtime.Runtime<R>): Exit.Exit<A, E> => {
  const run = Runtime.runSyncExit(runtime)
  let input: unknown = undefined
  while (true) {
    let next: IteratorResult<Utils.YieldWrap<Effect.Effect<any, E, R>>, A>
    try {
      next = steps.next(input)
    } catch (defect) {
      return Exit.die(defect)
    }
    if (next.done) return Exit.succeed(next.value)
    const exit = run(yieldWrapGet(next.value))
    if (Exit.isFailure(exit)) {
      // An Effect that had to wait goes on in a fiber of its own: stop it, lest it act after the steps' caller moved on
      // (say, write outside the transaction these steps ran in).
      for (const defect of Cause.defects(exit.cause)) if (Runtime.isAsyncFiberException(defect)) defect.fiber.unsafeInterruptAsFork(FiberId.none)
      steps.return(undefined as never)
      return exit
    }
    input = exit.value
  }
}
