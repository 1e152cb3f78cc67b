/**
 * Task runners: where and how a flow's task runs execute. One contract — `submit` a task run's actor, get its fiber —
 * for the sequential runner (each run finishes before the next starts), the concurrent one (bounded, the default),
 * and the parallel one (concurrent, with task bodies on worker threads: see `runtime/worker-pool.ts`).
 */
import { Effect, Fiber, Scope } from "effect"

export interface TaskRunner {
  readonly name: string
  /**
   * Starts a task run: `ready` waits for its upstream runs (holding no slot), then `run` orchestrates and executes it.
   * The fiber lives in the runner's scope: closing it (the flow run ending or being cancelled) interrupts what is left.
   */
  readonly submit: <A, E, R>(ready: Effect.Effect<void, never, R>, run: Effect.Effect<A, E, R>) => Effect.Effect<Fiber.Fiber<A, E>, never, R>
  /** True when task bodies run on worker threads rather than in this thread. */
  readonly parallel: boolean
}

/** A task runner's recipe: each flow run makes its own runner, alive for the run. */
export interface TaskRunnerSpec {
  readonly name: string
  readonly make: Effect.Effect<TaskRunner, never, Scope.Scope>
}

/** Every task run finishes before `submit` returns: strictly one at a time, in call order. */
export const sequential = (): TaskRunnerSpec => ({
  name: "sequential",
  make: Effect.map(Effect.scope, (scope): TaskRunner => ({
    name: "sequential",
    parallel: false,
    submit: (ready, run) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkIn(Effect.zipRight(ready, run), scope)
        yield* Fiber.await(fiber)
        return fiber
      })
  }))
})

/** Task runs proceed side by side, at most `limit` executing at once (default 1,000). */
export const concurrent = (options: { readonly limit?: number } = {}): TaskRunnerSpec => {
  const limit = Math.max(1, Math.floor(options.limit ?? 1000))
  return {
    name: `concurrent(limit=${limit})`,
    make: Effect.gen(function*() {
      const scope = yield* Effect.scope
      const slots = yield* Effect.makeSemaphore(limit)
      return {
        name: `concurrent(limit=${limit})`,
        parallel: false,
        submit: (ready, run) => Effect.forkIn(Effect.zipRight(ready, slots.withPermits(1)(run)), scope)
      }
    })
  }
}

/** Like `concurrent`, but task bodies run on a pool of worker threads (default: one per core) for CPU-bound work. */
export const parallel = (options: { readonly workers?: number; readonly limit?: number } = {}): TaskRunnerSpec => {
  const inner = concurrent({ limit: options.limit ?? 1000 })
  const workers = options.workers
  return {
    name: `parallel(workers=${workers ?? "cores"})`,
    make: Effect.map(inner.make, (runner): TaskRunner => ({ ...runner, name: `parallel(workers=${workers ?? "cores"})`, parallel: true }))
  }
}

export const defaultTaskRunner = concurrent
