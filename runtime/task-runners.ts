/**
 * Task runners: where and how a flow's task runs execute. One contract — `submit` a task run's actor and get its fiber,
 * `execute` a task body — for the sequential runner (one task run at a time, in call order), the concurrent one
 * (bounded, the default) and the parallel one (concurrent, with task bodies on worker threads: `worker-pool.ts`).
 */
import * as os from "node:os"
import { Context, Duration, Effect, Exit, Fiber, FiberRef, Option, type Runtime, Scope, Tracer } from "effect"
import { BodyEnded } from "./run-actor.js"
import type { Uuid } from "../src/domain/index.js"
import { Permits } from "./internal/permits.js"
import { Once } from "./internal/once.js"
import { RunLogs } from "./run-logs.js"
import * as WorkerPool from "./worker-pool.js"
import { tracerInstalled } from "./internal/tracing.js"
import type { WorkerRunInfo } from "./worker-protocol.js"

/** A task as a runner sees it: its body, and where a worker thread finds it again. */
export interface TaskBody {
  readonly name: string
  readonly taskKey: string
  readonly body: (...args: Array<any>) => unknown
  /** The file URL of the module that defined the task (from the call stack, or its `module` option), if known. */
  readonly module: string | undefined
}

/** What a task runner needs of the task run it executes; the SDK's `TaskRunContext` is one. */
export interface ExecutedRun {
  readonly taskRunId: Uuid
  readonly taskName: string
  readonly signal: AbortSignal
  readonly flow: {
    readonly flowRunId: Uuid
    readonly flowName: string
    readonly tags: ReadonlyArray<string>
    /** The flow run's services: its run logs, for a body that logs from a worker thread. */
    readonly runtime: Runtime.Runtime<RunLogs>
  }
}

export interface TaskRunner {
  readonly name: string
  /**
   * Starts a task run: `ready` waits for its upstream runs (holding no slot), then `run` orchestrates and executes it.
   * The fiber lives in the runner's scope: closing it (the flow run ending or being cancelled) interrupts what is left.
   */
  readonly submit: <A, E, R>(ready: Effect.Effect<void, never, R>, run: Effect.Effect<A, E, R>) => Effect.Effect<Fiber.RuntimeFiber<A, E>, never, R>
  /**
   * Executes one attempt's body and returns what it returns — a value, a promise or an Effect — for the task run to
   * await: in-thread runners call the body; the parallel runner returns an Effect that runs it on a worker thread.
   * Interrupting that Effect aborts the body.
   */
  readonly execute: (task: TaskBody, args: ReadonlyArray<unknown>, run: ExecutedRun) => unknown
  /** True when task bodies run on worker threads rather than in this thread. */
  readonly parallel: boolean
}

/** A task runner's recipe: each flow run makes its own runner, alive for the run. */
export interface TaskRunnerSpec {
  readonly name: string
  readonly make: Effect.Effect<TaskRunner, never, Scope.Scope>
}

const inThisThread = (task: TaskBody, args: ReadonlyArray<unknown>): unknown => task.body(...args)

/** A count option: a whole number ≥ 1, or a clear error naming the runner and the option. */
const count = (runner: string, option: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${runner}({ ${option} }): ${option} must be a whole number ≥ 1, got ${String(value)}`)
  return value
}

/**
 * Strictly one task run at a time, in the order they were submitted, whatever the caller does (`Promise.all`,
 * `Effect.all` with concurrency): each run waits for its turn in a FIFO line, and hands the turn on when it has ended
 * — or, sooner, once its body has returned and its Completed state is being proposed
 * (`BodyEnded`): no body runs while another does, and the next run's start is committed with that Completed state.
 * `submit` returns when the turn has passed on.
 */
export const sequential = (): TaskRunnerSpec => ({
  name: "sequential",
  make: Effect.map(Effect.scope, (scope) => {
    const turns = makeTurns()
    return {
      name: "sequential",
      parallel: false,
      execute: inThisThread,
      submit: (ready, run) =>
        Effect.suspend(() => {
          const turn = turns.enqueue()
          return Effect.zipLeft(
            Effect.forkIn(
              Effect.zipRight(turn.started, Effect.zipRight(ready, Effect.zipRight(FiberRef.set(BodyEnded, turn.pass), run))).pipe(Effect.ensuring(turn.pass)),
              scope
            ),
            turn.passed
          )
        })
    } satisfies TaskRunner
  })
})

/** A run's place in the sequential runner's line. */
interface Turn {
  /** Waits until it is this run's turn. */
  readonly started: Effect.Effect<void>
  /** Hands the turn on (idempotent); a run that passes before its turn came is skipped when it comes. */
  readonly pass: Effect.Effect<void>
  /** Waits until this run has handed the turn on. */
  readonly passed: Effect.Effect<void>
}

/**
 * The line of runs for one sequential runner: plain callbacks, no fiber serving it — each run, as it passes, starts
 * the next one still waiting. Two waits per run (its turn, and the submitter's wait for the hand-over).
 */
const makeTurns = () => {
  const waiting: Array<{ readonly start: () => unknown; readonly skipped: () => boolean }> = []
  let holder: object | undefined
  const advance = () => {
    holder = undefined
    for (let next = waiting.shift(); next !== undefined; next = waiting.shift()) {
      if (next.skipped()) continue
      holder = next
      next.start()
      return
    }
  }
  return {
    enqueue: (): Turn => {
      const start = new Once<void>()
      const handedOn = new Once<void>()
      const place = { start: () => start.complete(Exit.void), skipped: () => handedOn.poll() !== undefined }
      waiting.push(place)
      if (holder === undefined) advance()
      return {
        started: start.await,
        passed: handedOn.await,
        pass: Effect.sync(() => {
          if (handedOn.complete(Exit.void) && holder === place) advance()
        })
      }
    }
  }
}

/**
 * Task runs in progress at once by default: ample for I/O-bound fan-out, and a run in progress holds memory until it
 * ends — with 1,000 in flight, a 10,000-task flow peaked ~30 MB higher, for no more throughput (bench/RESULTS.md).
 */
const defaultLimit = 256

/**
 * Task runs proceed side by side, at most `limit` in progress at once (default 256): a submit beyond that waits
 * until one ends, so a flow mapping a task over 100,000 items holds `limit` runs in memory, not 100,000. A run in
 * progress only ever waits for runs submitted before it, so the oldest can always finish: no deadlock.
 */
export const concurrent = (options: { readonly limit?: number } = {}): TaskRunnerSpec => {
  const limit = count("concurrent", "limit", options.limit, defaultLimit)
  return {
    name: `concurrent(limit=${limit})`,
    make: Effect.gen(function*() {
      const scope = yield* Effect.scope
      const slots = new Permits(limit)
      return {
        name: `concurrent(limit=${limit})`,
        parallel: false,
        execute: inThisThread,
        submit: (ready, run) =>
          Effect.uninterruptibleMask((restore) =>
            Effect.zipRight(
              restore(slots.take),
              Effect.map(Effect.forkIn(restore(ready === Effect.void ? run : Effect.zipRight(ready, run)), scope), (fiber) => {
                // The slot is given back when the run's fiber ends, however it ends.
                fiber.addObserver(slots.release)
                return fiber
              })
            ))
      } satisfies TaskRunner
    })
  }
}

export interface ParallelOptions {
  /** Worker threads (default: one per core, `os.availableParallelism()`). */
  readonly workers?: number
  /** Task runs in progress at once, as for `concurrent` (default 256); bodies beyond `workers` wait for a free worker. */
  readonly limit?: number
  /** How long a cancelled or timed-out body may take to end before its worker is terminated and replaced (default 1 s). */
  readonly abortGrace?: WorkerPool.WorkerPoolOptions["abortGrace"]
}

/**
 * Like `concurrent`, but task bodies run on a pool of worker threads, for CPU-bound work; orchestration (states,
 * results, caching, retries) stays in this thread. Each task must be defined at the top level of a module that does
 * not run flows when imported: a worker imports that module to find it. Arguments and results cross by structured clone.
 */
export const parallel = (options: ParallelOptions = {}): TaskRunnerSpec => {
  const limit = count("parallel", "limit", options.limit, defaultLimit)
  const workers = count("parallel", "workers", options.workers, os.availableParallelism())
  if (options.abortGrace !== undefined && Option.isNone(Duration.decodeUnknown(options.abortGrace))) {
    throw new TypeError(`parallel({ abortGrace }): abortGrace must be a duration (milliseconds, or e.g. "2 seconds"), got ${JSON.stringify(options.abortGrace)}`)
  }
  const name = `parallel(workers=${workers})`
  return {
    name,
    make: Effect.gen(function*() {
      const inner = yield* concurrent({ limit }).make
      const pool = yield* WorkerPool.make({ size: workers, ...(options.abortGrace !== undefined ? { abortGrace: options.abortGrace } : {}) })
      return { ...inner, name, parallel: true, execute: (task, args, run) => onWorker(pool, task, args, run) } satisfies TaskRunner
    })
  }
}

/** The Effect that runs a task body on the pool, its log lines fed to the run's logs. */
const onWorker = (pool: WorkerPool.WorkerPool, task: TaskBody, args: ReadonlyArray<unknown>, run: ExecutedRun) =>
  Effect.suspend(() => {
    const module = task.module
    if (module === undefined) {
      return Effect.fail(new Error(`Orion could not tell which module defines task '${task.name}', so a worker thread cannot load it: pass \`module: import.meta.url\` in the task's options.`))
    }
    const logs = Context.get(run.flow.runtime.context, RunLogs)
    const send = (trace: WorkerRunInfo["trace"]) => pool.run({
      module,
      task: task.name,
      key: task.taskKey,
      args,
      run: {
        flowRunId: run.flow.flowRunId, flowName: run.flow.flowName, taskRunId: run.taskRunId, taskName: run.taskName, tags: run.flow.tags,
        ...(trace === undefined ? {} : { trace })
      },
      onLog: (entry) => logs.unsafeLog({ ...entry, flow_run_id: run.flow.flowRunId, task_run_id: run.taskRunId }),
      abortReason: () => run.signal.aborted && run.signal.reason instanceof Error ? run.signal.reason.message : "The run was cancelled."
    })
    // The task run's span crosses into the worker thread (only when this process traces).
    return tracerInstalled()
      ? Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) =>
        send(Option.isSome(span) ? { traceId: span.value.traceId, spanId: span.value.spanId, sampled: span.value.sampled } : undefined))
      : send(undefined)
  })

export const defaultTaskRunner = concurrent
