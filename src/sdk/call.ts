/**
 * A call of a flow or task that is both an Effect (`yield* t(x)`) and a promise (`await t(x)`). On the Effect side the
 * ambient run comes from the fiber; on the async side it is captured when the call is made, from AsyncLocalStorage.
 */
import { Cause, Effect, Effectable, Exit, Fiber, FiberSet, Option, Runtime } from "effect"
import { asyncRun, CurrentRun, flowOf, type RunContext } from "./context.js"

/** Where a call was made: inside an Effect fiber (the fiber knows its run) or in async code (AsyncLocalStorage does). */
const callSite = (): { readonly inFiber: boolean; readonly run: RunContext | undefined } => {
  const fiber = Fiber.getCurrentFiber()
  if (Option.isSome(fiber)) {
    const run = fiber.value.getFiberRef(CurrentRun)
    if (run !== undefined) return { inFiber: true, run }
  }
  return { inFiber: false, run: asyncRun.getStore() }
}

/** Turns a failed Exit into the error an `await`-ing caller expects: the typed failure itself, not a wrapper. */
const rejection = (cause: Cause.Cause<unknown>): unknown => Cause.squash(cause)

export abstract class Call<A, E> extends Effectable.Class<A, E> implements PromiseLike<A> {
  private readonly site = callSite()
  private started: Promise<A> | undefined

  /** What the call does, reading the ambient run from the fiber. */
  protected abstract run(): Effect.Effect<A, E>

  commit(): Effect.Effect<A, E> {
    const captured = this.site.run
    return captured !== undefined && !this.site.inFiber ? Effect.locally(this.run(), CurrentRun, captured) : this.run()
  }

  /** Starts the call now (async side), once: later `then`s share the same outcome. */
  protected start(): Promise<A> {
    if (this.started === undefined) {
      const captured = this.site.run
      const effect = captured !== undefined ? Effect.locally(this.run(), CurrentRun, captured) : this.run()
      if (captured === undefined) {
        this.started = Effect.runPromiseExit(effect).then((exit) => Exit.isSuccess(exit) ? exit.value : Promise.reject(rejection(exit.cause)))
      } else {
        // Inside a run: a fiber of the flow's fiber set, so cancelling the flow interrupts it.
        const flow = flowOf(captured)
        const fiber = Runtime.runFork(flow.runtime)(effect)
        FiberSet.unsafeAdd(flow.fibers, fiber)
        this.started = new Promise<A>((resolve, reject) =>
          fiber.addObserver((exit) => Exit.isSuccess(exit) ? resolve(exit.value) : reject(rejection(exit.cause))))
      }
    }
    return this.started
  }

  then<R1 = A, R2 = never>(onfulfilled?: ((value: A) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.start().then(onfulfilled, onrejected)
  }

  catch<R2 = never>(onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<A | R2> {
    return this.start().catch(onrejected)
  }
}

/** A Call made from an effect-returning thunk. */
export class CallOf<A, E> extends Call<A, E> {
  constructor(private readonly thunk: () => Effect.Effect<A, E>) {
    super()
  }
  protected run() {
    return this.thunk()
  }
}

export const call = <A, E>(thunk: () => Effect.Effect<A, E>): Call<A, E> => new CallOf(thunk)
