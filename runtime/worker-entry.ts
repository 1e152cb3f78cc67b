/**
 * The worker thread side of the parallel task runner: imports the module that defines a task, finds the task in the
 * registry, runs its body in a run context whose log lines go back to the main thread, and posts the outcome.
 */
import "../src/domain/wire-parsers.js"
import { parentPort, threadId } from "node:worker_threads"
import { Context, Effect, Either, Exit, Fiber, FiberRef, FiberSet, HashSet, LogLevel, ManagedRuntime, Option, Runtime, Scope, Tracer } from "effect"
import * as Tracing from "../src/tracing.js"
import { flushSpans } from "../src/tracing.js"
import { consoleLogger, settings as logSettings } from "../src/log-console.js"
import { describeFailure, runBody } from "../src/sdk/body.js"
import type { FlowRunContext, TaskRunContext } from "../src/sdk/context.js"
import { NotInFlow } from "../src/sdk/errors.js"
import type { OrionServices } from "../src/sdk/services.js"
import { countTasks, findTask, markTaskWorkerThread, type RegisteredTask } from "../src/sdk/task-registry.js"
import { RunLogs, runLogger } from "./run-logs.js"
import type { TaskRunner } from "./task-runners.js"
import { cloneableHint, describeError, type FromWorker, type RunMessage, type ToWorker, type WorkerRunInfo } from "./worker-protocol.js"

if (parentPort === null) throw new Error("runtime/worker-entry.ts is the entry of a parallel() task runner's worker threads; it does not run on its own.")
const port = parentPort
markTaskWorkerThread()

/** The job this worker is running (one at a time). */
interface Current {
  readonly id: number
  readonly controller: AbortController
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  /** The body returned an Effect: aborting also interrupts it (a promise cannot be interrupted, only signalled). */
  effectBody: boolean
}
let current: Current | undefined

port.on("message", (message: ToWorker) => {
  if (message._tag === "Run") void run(message)
  else if (current !== undefined && current.id === message.id) abort(current, message.reason)
})

const abort = (job: Current, reason: string) => {
  job.controller.abort(new Error(reason))
  if (job.fiber !== undefined && job.effectBody) Effect.runFork(Fiber.interrupt(job.fiber))
}

const run = async (job: RunMessage) => {
  const me: Current = { id: job.id, controller: new AbortController(), fiber: undefined, effectBody: false }
  current = me
  let outcome: FromWorker
  try {
    outcome = await execute(job, me)
  } catch (e) {
    outcome = { _tag: "Failed", id: job.id, message: `The worker thread could not run task '${job.task}': ${describeError(e)}` }
  }
  if (current === me) current = undefined
  try {
    port.postMessage(outcome)
  } catch (e) {
    port.postMessage({
      _tag: "Failed", id: job.id,
      message: `The result of task '${job.task}' cannot be sent back from its worker thread: ${describeError(e)}. ${cloneableHint}`
    } satisfies FromWorker)
  }
}

/** Imports the task's module and finds the task; a message saying why not, when it cannot. */
const load = async (job: RunMessage): Promise<RegisteredTask | string> => {
  try {
    await import(job.module)
  } catch (e) {
    return `Task '${job.task}' could not be loaded in a worker thread: importing ${job.module} failed: ${describeError(e)}`
  }
  const found = findTask(job.task, job.key)
  if (found !== undefined) return found
  const count = countTasks(job.task)
  return count === 0
    ? `Task '${job.task}' is not defined when ${job.module} is imported, so a worker thread cannot find it: create tasks that run on parallel() at the top level of a module (or pass the module that creates them as the task's \`module\` option).`
    : `${count} different tasks named '${job.task}' are defined in the modules ${job.module} imports: give them distinct names so a worker thread can tell them apart.`
}

const execute = async (job: RunMessage, me: Current): Promise<FromWorker> => {
  const task = await load(job)
  if (typeof task === "string") return { _tag: "Failed", id: job.id, message: task }
  if (me.controller.signal.aborted) return { _tag: "Failed", id: job.id, message: String((me.controller.signal.reason as Error).message) }
  const scope = Effect.runSync(Scope.make())
  try {
    const logs = postingLogs(job.id)
    const trace = job.run.trace
    const base = trace === undefined ? Runtime.defaultRuntime : await tracingRuntime()
    const ctx = runContextOf(job.run, logs, Effect.runSync(Scope.extend(FiberSet.make(), scope)), me.controller.signal, base)
    const body = (...args: Array<unknown>) => {
      const out = task.body(...args)
      me.effectBody = Effect.isEffect(out)
      return out
    }
    const run = runBody(body, job.args, ctx, me.controller, Option.none())
    const fiber = Runtime.runFork(ctx.flow.runtime)(Effect.either(trace === undefined ? run : Effect.withSpan(run, "orion.task_run.worker", {
      parent: Tracer.externalSpan(trace),
      attributes: { "orion.task_run.id": job.run.taskRunId, "orion.task.name": job.run.taskName, "thread.id": threadId }
    })))
    me.fiber = fiber
    const exit = await Effect.runPromise(Fiber.await(fiber))
    if (trace !== undefined) await flushSpans()
    if (Exit.isFailure(exit)) return { _tag: "Failed", id: job.id, message: describeFailure(exit.cause) }
    const result = exit.value
    if (Either.isRight(result)) return { _tag: "Done", id: job.id, value: result.right }
    return { _tag: "Failed", id: job.id, message: result.left._tag === "Failed" ? describeFailure(result.left.cause) : "The run timed out." }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Run logs that post each line to the main thread, which stores it with the run's other logs. */
const postingLogs = (id: number): RunLogs["Type"] => {
  const unsafeLog = (entry: Parameters<RunLogs["Type"]["unsafeLog"]>[0]) => port.postMessage({ _tag: "Log", id, entry } satisfies FromWorker)
  return RunLogs.of({ unsafeLog, log: (entry) => Effect.sync(() => unsafeLog(entry)), flush: Effect.void })
}

/**
 * A worker thread's view of the run: ids, names, tags, its signal and its logger. Orchestration stays in the main
 * thread, so starting task runs or flows from here fails (the SDK says so before it touches the runner).
 */
const runContextOf = (info: WorkerRunInfo, logs: RunLogs["Type"], fibers: FiberSet.FiberSet<unknown, unknown>, signal: AbortSignal, base: Runtime.Runtime<never>): TaskRunContext => {
  const runtime = Runtime.make({
    context: Context.make(RunLogs, logs) as Context.Context<unknown> as Context.Context<OrionServices>,
    runtimeFlags: base.runtimeFlags,
    fiberRefs: loggingFiberRefs(logs, base)
  })
  const flow: FlowRunContext = {
    _tag: "FlowRun", flowRunId: info.flowRunId as FlowRunContext["flowRunId"], flowName: info.flowName, tags: info.tags,
    runtime, taskRunner: noRunner(info), fibers, children: [], dynamicKeys: new Map(), producers: new WeakMap(), signal
  }
  return { _tag: "TaskRun", taskRunId: info.taskRunId as TaskRunContext["taskRunId"], taskName: info.taskName, flow, signal }
}

/** The main thread's console format and level (the same settings, read here; an invalid one was refused there already). */
const consoleSettings = Effect.runSync(Effect.option(logSettings))

/** Fiber refs whose loggers are the run logger (lines back to the main thread) and the console logger, at the set level. */
const loggingFiberRefs = (logs: RunLogs["Type"], base: Runtime.Runtime<never>) =>
  Runtime.runSync(base)(Effect.getFiberRefs.pipe(
    Effect.locallyWith(FiberRef.currentLoggers, (loggers) =>
      Option.match(consoleSettings, {
        onNone: () => HashSet.add(loggers, runLogger(logs)),
        onSome: ({ format }) => HashSet.add(HashSet.make(consoleLogger(format)), runLogger(logs))
      })),
    Effect.locally(FiberRef.currentMinimumLogLevel, Option.match(consoleSettings, { onNone: () => LogLevel.Info, onSome: (s) => s.level }))
  ))

/** This thread's tracer (the main thread's settings: an OTLP endpoint), made when a traced job first arrives. */
let tracing: Promise<Runtime.Runtime<never>> | undefined
const tracingRuntime = () => tracing ??= ManagedRuntime.make(Tracing.layer).runtime()

/** No task runs start from a task body: the SDK rejects a task called inside a task before it reaches this. */
const noRunner = (info: WorkerRunInfo): TaskRunner => {
  const refuse = () => new NotInFlow({ message: `Task runs cannot be started from task '${info.taskName}' in a worker thread: call tasks from the flow body.` })
  return {
    name: "worker-thread",
    parallel: true,
    submit: () => Effect.die(refuse()),
    execute: () => {
      throw refuse()
    }
  }
}
