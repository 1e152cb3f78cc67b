/**
 * A result given once and awaited by fibers: the lean stand-in for a Deferred on paths taken per request or per task
 * run. Effect's Deferred copies Effect's whole prototype into each instance it makes; a profile of the sequential
 * runner put ~5 % of its time outside the orchestrator in that alone.
 */
import { Effect, type Exit } from "effect"

export class Once<A, E = never> {
  private result: Exit.Exit<A, E> | undefined = undefined
  private waiters: Array<(result: Effect.Effect<A, E>) => void> | undefined = undefined

  /** Gives the result and resumes every waiter; false, changing nothing, if a result was given before. */
  complete(result: Exit.Exit<A, E>): boolean {
    if (this.result !== undefined) return false
    this.result = result
    const waiters = this.waiters
    this.waiters = undefined
    if (waiters !== undefined) for (const resume of waiters) resume(result)
    return true
  }

  /** The result, if it has been given. */
  poll(): Exit.Exit<A, E> | undefined {
    return this.result
  }

  /** Waits for the result; an interrupted wait only stops waiting. */
  get await(): Effect.Effect<A, E> {
    return Effect.async<A, E>((resume) => {
      if (this.result !== undefined) return resume(this.result)
      const waiters = (this.waiters ??= [])
      waiters.push(resume)
      return Effect.sync(() => {
        const at = waiters.indexOf(resume)
        if (at >= 0) waiters.splice(at, 1)
      })
    })
  }
}
