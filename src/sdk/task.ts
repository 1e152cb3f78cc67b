/**
 * `task()`: a function that, called inside a flow, runs as a task run — orchestrated, retried, cached, its result
 * stored — and returns its result (`yield* t(x)` / `await t(x)`), a future (`t.submit(x)`) or a fan-out (`t.map(xs)`).
 */
import { createHash } from "node:crypto"
import { Clock, Context, Duration, Effect, Either, Exit, Option, ParseResult, Schema } from "effect"
import { RunPolicy, States, type OrchestrationResult, type StateCreate, type Uuid } from "../domain/index.js"
import { OrionClient } from "../client/orion-client.js"
import { Once } from "../../runtime/internal/once.js"
import { type Attempt, runActor } from "../../runtime/run-actor.js"
import { ResultNotSerializable, ResultStore } from "../../runtime/results.js"
import type { TaskBody } from "../../runtime/task-runners.js"
import { type Call, call } from "./call.js"
import { currentRun, type FlowRunContext, type TaskRunContext } from "./context.js"
import { describeFailure, LazyAbortController, runBody } from "./body.js"
import { MappingLengthMismatch, NotInFlow, type TaskRunFailed } from "./errors.js"
import { outcomeValue, TaskFuture } from "./future.js"
import { firstNotCompleted, futuresIn, resolveFutures, taskInputs } from "./inputs.js"
import { checkDuration, nameOf, runPolicy, type RunOptions, serializerOf, timeoutOf } from "./options.js"
import { callerModule, registerTask, toModuleUrl } from "./task-registry.js"

/** What a task body returns, unwrapped: the Effect's success, the promise's value, or the value itself. */
export type TaskResult<R> = R extends Effect.Effect<infer A, any, any> ? A : Awaited<R>

/** An argument may be given as its value or as the future of a task run producing it. */
export type Inputs<Args extends ReadonlyArray<unknown>> = { readonly [K in keyof Args]: Args[K] | TaskFuture<Args[K]> }

/** A broadcast argument of `map`: given as is to every mapped call. */
export class Unmapped<A> {
  constructor(readonly value: A) {}
}
export const unmapped = <A>(value: A): Unmapped<A> => new Unmapped(value)

export type MapInputs<Args extends ReadonlyArray<unknown>> = {
  readonly [K in keyof Args]: ReadonlyArray<Args[K] | TaskFuture<Args[K]>> | Unmapped<Args[K] | TaskFuture<Args[K]>> | TaskFuture<ReadonlyArray<Args[K]>>
}

export interface TaskOptions<Args extends ReadonlyArray<unknown>> extends RunOptions {
  /** A key for the cache: a later run with the same key, while the entry has not expired, reuses this result. */
  readonly cacheKey?: (...args: Args) => string | null | undefined
  /** How long a cached result stays valid (a number is seconds; default: forever). */
  readonly cacheExpiration?: Duration.DurationInput
  /**
   * The module that defines the task (`import.meta.url`), which a `parallel()` runner's worker threads import to find
   * it. By default it is read from the call stack of `task()`; give it when `task()` is called from a helper elsewhere.
   */
  readonly module?: string | URL
}

export interface CallOptions {
  /** Runs that must finish before this one starts, though they pass it no data. */
  readonly waitFor?: ReadonlyArray<TaskFuture<unknown>>
}

export interface Task<Args extends ReadonlyArray<unknown>, A> {
  /** Runs the task as a task run of the current flow and returns its result. */
  (...args: Inputs<Args>): Call<A, TaskRunFailed | NotInFlow>
  /** Starts the task run and returns its future at once. */
  readonly submit: (...args: Inputs<Args>) => Call<TaskFuture<A>, NotInFlow>
  /** One task run per element of the mapped arguments (`unmapped(x)` is given to every one); returns their results. */
  readonly map: (...args: MapInputs<Args>) => Call<Array<A>, TaskRunFailed | NotInFlow | MappingLengthMismatch>
  /** The same task, with options for the next calls: `t.with({ waitFor: [f] })(x)`. */
  readonly with: (options: CallOptions) => Task<Args, A>
  readonly name: string
  readonly options: TaskOptions<Args>
  /** The body itself, to call directly (no orchestration), e.g. in unit tests. */
  readonly fn: (...args: Args) => unknown
}

interface TaskDefinition extends TaskBody {
  readonly tags: ReadonlyArray<string>
  readonly policy: RunPolicy
  readonly options: TaskOptions<Array<any>>
}

const decodePolicy = Schema.decodeUnknownEither(RunPolicy)

export function task<F extends (...args: Array<any>) => unknown>(body: F): Task<Parameters<F>, TaskResult<ReturnType<F>>>
export function task<F extends (...args: Array<any>) => unknown>(options: TaskOptions<Parameters<F>>, body: F): Task<Parameters<F>, TaskResult<ReturnType<F>>>
export function task(a: any, b?: any): Task<Array<unknown>, unknown> {
  const options: TaskOptions<Array<any>> = b === undefined ? {} : a
  const body: (...args: Array<any>) => unknown = b === undefined ? a : b
  if (typeof body !== "function") throw new TypeError("task(): the body must be a function")
  const name = nameOf(options, body, "task")
  const policy = decodePolicy(runPolicy(options))
  if (Either.isLeft(policy)) throw new TypeError(`task '${name}': invalid retry options: ${ParseResult.TreeFormatter.formatErrorSync(policy.left)}`)
  checkDuration(`task '${name}'`, "timeout", options.timeout)
  checkDuration(`task '${name}'`, "cacheExpiration", options.cacheExpiration)
  if (options.persistResult === false && options.cacheKey !== undefined) {
    throw new TypeError(`task '${name}': a cached run hands back its stored result, so \`cacheKey\` needs the result stored; remove \`persistResult: false\` or the cache key`)
  }
  const tags = [...new Set(options.tags ?? [])].sort()
  const given = options.module === undefined ? undefined : toModuleUrl(options.module)
  if (options.module !== undefined && given === undefined) throw new TypeError(`task '${name}': \`module\` must be a file URL (import.meta.url) or an absolute path; got '${String(options.module)}'`)
  const definingModule = given === undefined ? callerModule(task) : () => given
  const definition: TaskDefinition = {
    name, tags, policy: policy.right, body, options,
    taskKey: createHash("sha1").update(`${name}\0${body.toString()}\0${tags.join(",")}`).digest("hex").slice(0, 20),
    get module() {
      return definingModule()
    }
  }
  registerTask(definition)
  return makeTask(definition, {})
}

const makeTask = (def: TaskDefinition, callOptions: CallOptions): Task<Array<unknown>, unknown> => {
  const submit = (args: ReadonlyArray<unknown>) => Effect.flatMap(flowContext(def), (flow) => submitRun(def, flow, args, callOptions.waitFor ?? []))
  const run = Object.assign(
    (...args: Array<unknown>) => call(() => Effect.flatMap(submit(args), (f) => f.result())),
    {
      submit: (...args: Array<unknown>) => call(() => submit(args)),
      map: (...args: Array<unknown>) => call(() => mapRuns(def, args, callOptions)),
      with: (more: CallOptions) => makeTask(def, { waitFor: [...(callOptions.waitFor ?? []), ...(more.waitFor ?? [])] }),
      options: def.options,
      fn: def.body
    }
  )
  Object.defineProperty(run, "name", { value: def.name })
  return run as unknown as Task<Array<unknown>, unknown>
}

/** The flow run a task call belongs to; a clear error outside one (or inside another task). */
const flowContext = (def: TaskDefinition): Effect.Effect<FlowRunContext, NotInFlow> =>
  Effect.flatMap(currentRun, Option.match({
    onNone: () => Effect.fail(new NotInFlow({
      message: `Task '${def.name}' was called outside a flow. Call it from inside a flow body, or call '${def.name}.fn(…)' to run the function without Orion.`
    })),
    onSome: (ctx) => ctx._tag === "FlowRun" ? Effect.succeed(ctx) : Effect.fail(new NotInFlow({
      message: `Task '${def.name}' was called inside task '${ctx.taskName}'. Tasks run from flows: call it from the flow body, or make '${ctx.taskName}' a flow (a subflow).`
    }))
  }))

const nextDynamicKey = (flow: FlowRunContext, taskKey: string): string => {
  const n = flow.dynamicKeys.get(taskKey) ?? 0
  flow.dynamicKeys.set(taskKey, n + 1)
  return String(n)
}

/** Creates and starts one task run on the flow's task runner; returns its future. */
const submitRun = (def: TaskDefinition, flow: FlowRunContext, args: ReadonlyArray<unknown>, waitFor: ReadonlyArray<TaskFuture<unknown>>) =>
  Effect.suspend(() => {
    const dynamicKey = nextDynamicKey(flow, def.taskKey)
    const id = new Once<Uuid, unknown>()
    const createdId: { id?: Uuid } = {}
    const upstream = [...futuresIn(args, flow), ...waitFor]
    const services = flow.runtime.context
    const client = Context.get(services, OrionClient)
    let resolved: ReadonlyArray<unknown> = args
    let notReady: StateCreate | undefined
    // With nothing upstream, the run is created when it can start, and its Running proposal rides on the create:
    // one round trip to the orchestrator instead of two. With upstream runs it is created at once (Pending) and
    // waits for them, so the dependency is visible while it waits.
    const createWhenStarting = upstream.length === 0

    const create = (start?: StateCreate) =>
      Effect.flatMap(taskInputs(args, waitFor, flow), (task_inputs) =>
        client.createTaskRun({
          name: `${def.name}-${dynamicKey}`,
          flow_run_id: flow.flowRunId,
          task_key: def.taskKey,
          dynamic_key: dynamicKey,
          cache_key: null,
          cache_expiration: null,
          task_version: def.options.version ?? null,
          empirical_policy: def.policy,
          tags: flow.tags.length === 0 ? def.tags : [...new Set([...def.tags, ...flow.tags])],
          task_inputs,
          state: States.Pending()
        }, start === undefined ? undefined : { start })).pipe(
          Effect.map((created) => {
            createdId.id = created.id
            id.complete(Exit.succeed(created.id))
            return created
          }),
          Effect.tapErrorCause((cause) => Effect.sync(() => id.complete(Exit.failCause(cause))))
        )

    const ready = createWhenStarting ? Effect.void : Effect.gen(function*() {
      yield* create()
      const blocked = yield* firstNotCompleted(upstream)
      if (blocked !== undefined) {
        const upstreamId = yield* blocked.future.awaitId()
        notReady = States.NotReady({ message: `Upstream task run '${upstreamId}' did not reach a 'COMPLETED' state.` })
      } else {
        resolved = (yield* resolveFutures(args)) as ReadonlyArray<unknown>
      }
    }).pipe(Effect.tapErrorCause((cause) => Effect.sync(() => id.complete(Exit.failCause(cause)))))

    // Combinators rather than a generator: this is every task run's path.
    const runWithId = (taskRunId: Uuid, running: StateCreate, started: OrchestrationResult | undefined, cacheKey: string | null) => {
      const ref = { kind: "task_run" as const, id: taskRunId }
      if (notReady !== undefined) {
        return Effect.flatMap(client.proposeState(ref, notReady), (answer) =>
          answer.state !== null
            ? Effect.succeed({ state: answer.state, value: Option.none<unknown>() })
            : Effect.map(client.readTaskRun(taskRunId), (r) => ({ state: r.state!, value: Option.none<unknown>() })))
      }
      return Effect.map(runActor({
        ref,
        running,
        started,
        execute: attempt(def, flow, taskRunId, resolved, cacheKey),
        heartbeats: flow.heartbeats === undefined ? undefined : { member: flow.heartbeats },
        report: { kind: "Task run", name: `${def.name}-${dynamicKey}`, definition: def.name, flowRunId: flow.flowRunId, taskRunId, maxRetries: def.policy.max_retries, reportEnd: true }
      }), (outcome) => {
        if (outcome.value._tag === "Some" && typeof outcome.value.value === "object" && outcome.value.value !== null) {
          flow.producers.set(outcome.value.value, taskRunId)
        }
        return outcome
      })
    }
    const run = Effect.suspend(() => {
      const cacheKey = notReady === undefined ? def.options.cacheKey?.(...resolved) ?? null : null
      const running = States.Running({ details: { cache_key: cacheKey } })
      return createWhenStarting
        ? Effect.flatMap(create(running), (created) => runWithId(created.id, running, created.started, cacheKey))
        : Effect.flatMap(id.await, (taskRunId) => runWithId(taskRunId, running, undefined, cacheKey))
    })

    // A task called from the flow's fibers inherits its services; one called from elsewhere (say, a promise started
    // in an async flow body) gets them from the flow.
    return Effect.flatMap(Effect.serviceOption(OrionClient), (inherited) =>
      Effect.map(
        flow.taskRunner.submit(createWhenStarting ? Effect.void : Effect.orDie(ready), (Option.isSome(inherited) ? run : Effect.provide(run, services)) as Effect.Effect<any, any>),
        (fiber) => {
          const future = new TaskFuture<unknown>(def.name, id, createdId, fiber, flow)
          // The future itself: a flow mapping 10,000 tasks keeps 10,000 of these until it ends, so nothing more per child.
          flow.children.push(future)
          return future
        }
      ))
  })

/** One execution of the task body, turned into the terminal state to propose (combinators: this runs per task run). */
const attempt = (def: TaskDefinition, flow: FlowRunContext, taskRunId: Uuid, args: ReadonlyArray<unknown>, cacheKey: string | null) =>
  Effect.suspend(() => {
    const controller = new LazyAbortController()
    const ctx: TaskRunContext = {
      _tag: "TaskRun", taskRunId, taskName: def.name, flow,
      get signal() {
        return controller.signal
      }
    }
    const runner = flow.taskRunner
    const body = runBody((...a) => runner.execute(def, a, ctx), args, ctx, controller, timeoutOf(def.options.timeout), { ownFiber: true })
    return Effect.matchEffect(body, {
      onFailure: (failure): Effect.Effect<Attempt> => Effect.succeed(failure._tag === "TimedOut"
        ? { proposal: States.TimedOut({ message: `Task run exceeded its timeout of ${Duration.format(failure.after)}.` }), value: Option.none() }
        : { proposal: States.Failed({ message: `Task run encountered an exception: ${describeFailure(failure.cause)}` }), value: Option.none() }),
      onSuccess: (value) => Effect.flatMap(ResultStore, (store) =>
        Effect.matchEffect(def.options.persistResult === false ? Effect.succeed(null) : store.persist(value, serializerOf(def.options.serializer)), {
          onFailure: (e): Effect.Effect<Attempt> => Effect.succeed({
            proposal: States.Failed({
              message: e instanceof ResultNotSerializable
                ? `The result of task '${def.name}' cannot be stored: ${e.message}`
                : `The result of task '${def.name}' could not be stored: ${e.message}`
            }),
            value: Option.none()
          }),
          onSuccess: (data) => {
            const completed = (expiration: Date | null): Attempt => ({
              proposal: States.Completed({ data, details: { cache_key: cacheKey, cache_expiration: expiration } }),
              value: Option.some(value)
            })
            const expiresIn = def.options.cacheExpiration
            if (expiresIn === undefined || cacheKey === null) return Effect.succeed(completed(null))
            return Effect.map(Clock.currentTimeMillis, (now) =>
              completed(new Date(now + Duration.toMillis(typeof expiresIn === "number" ? Duration.seconds(expiresIn) : Duration.decode(expiresIn)))))
          }
        }))
    })
  })

/** `t.map(...)`: resolves mapped futures, checks lengths, submits one run per index, returns all results. */
const mapRuns = (def: TaskDefinition, args: ReadonlyArray<unknown>, callOptions: CallOptions) =>
  Effect.gen(function*() {
    const flow = yield* flowContext(def)
    const columns: Array<{ readonly mapped: boolean; readonly values: ReadonlyArray<unknown> }> = []
    for (const arg of args) {
      if (arg instanceof Unmapped) columns.push({ mapped: false, values: [arg.value] })
      else {
        const value = yield* resolveFutures(arg)
        if (!Array.isArray(value)) {
          return yield* new MappingLengthMismatch({ task: def.name, message: `map of task '${def.name}': every argument must be an array (or unmapped(x)); got ${typeof value}` })
        }
        columns.push({ mapped: true, values: value })
      }
    }
    const lengths = new Set(columns.filter((c) => c.mapped).map((c) => c.values.length))
    if (lengths.size > 1) {
      return yield* new MappingLengthMismatch({ task: def.name, message: `map of task '${def.name}': the mapped arguments have different lengths (${[...lengths].join(", ")})` })
    }
    const n = lengths.size === 0 ? 0 : [...lengths][0]!
    const futures: Array<TaskFuture<unknown>> = []
    for (let i = 0; i < n; i++) {
      futures.push(yield* submitRun(def, flow, columns.map((c) => c.mapped ? c.values[i] : c.values[0]), callOptions.waitFor ?? []))
    }
    return yield* Effect.forEach(futures, (f) => Effect.flatMap(f.outcome, (o) => outcomeValue(def.name, o)))
  })
