/**
 * `flow()`: a function whose every call is a flow run — parameters validated by its Schema, task runs on its task
 * runner, a final state from its return value (spec §7.9). Called inside another flow it is a subflow.
 */
import { createHash } from "node:crypto"
import { Context, Deferred, Duration, Effect, Either, Exit, Fiber, FiberSet, Option, ParseResult, Schema } from "effect"
import { type Flow as FlowRecord, randomSlug, RunPolicy, type State, States, type StateCreate, type Uuid } from "../domain/index.js"
import { type ClientError, OrionClient } from "../client/orion-client.js"
import { flowRunCreated, flowRunFinished } from "./report.js"
import { type ActorError, type Attempt, HeartbeatGroup, runActor, type RunOutcome, runSpan } from "../../runtime/run-actor.js"
import { FLOW_RUNNER, type FlowRunner } from "./flow-runner.js"
import { jsonSerializer, ResultNotSerializable, ResultStore } from "../../runtime/results.js"
import { concurrent, type TaskRunnerSpec } from "../../runtime/task-runners.js"
import { type Call, call } from "./call.js"
import { currentRun, type FlowRunContext } from "./context.js"
import { describeFailure, LazyAbortController, runBody } from "./body.js"
import { FlowInWorkerThread, FlowRunFailed, NotInFlow, ParameterValidationError } from "./errors.js"
import { isTaskFuture, type TaskFuture } from "./future.js"
import { checkDuration, nameOf, runPolicy, type RunOptions, serializerOf, timeoutOf } from "./options.js"
import { type OrionServices, shutdown, withServices } from "./services.js"
import { inTaskWorkerThread } from "./task-registry.js"
import type { TaskResult } from "./task.js"

export interface FlowOptions<P, I> extends RunOptions {
  /** Validates (and decodes) the parameters before the run starts; invalid parameters fail the run before it runs. */
  readonly parameters?: Schema.Schema<P, I, never>
  /** Where this flow's task runs execute (default: `concurrent()`). */
  readonly taskRunner?: TaskRunnerSpec
  /** How often a running flow looks for a request to cancel it, e.g. from the API (default 1 s). */
  readonly cancelCheckInterval?: Duration.DurationInput
  /**
   * Whether a run that crashes (its process dies; the server's crash-detection service finds its heartbeats stopped)
   * is retried like a failed one, within `retries` (default false). Someone must start the retry: an agent does for a
   * deployment's runs.
   */
  readonly retryCrashed?: boolean
}

export interface RunCallOptions {
  /** Aborting it cancels the flow run (and its task runs and subflows). */
  readonly signal?: AbortSignal
}

export type FlowError = ParameterValidationError | NotInFlow | FlowInWorkerThread | ActorError

/** The parameters a caller passes: none for a flow without them. */
type ParamsArg<I> = [I] extends [undefined] ? [params?: I] : undefined extends I ? [params?: I] : [params: I]

/** `run`'s arguments: the parameters, then the call options; a flow without parameters takes the options alone. */
type RunArgs<I> = [I] extends [undefined] ? [options?: RunCallOptions] | [params: undefined, options?: RunCallOptions]
  : [...ParamsArg<I>, RunCallOptions?]

export interface Flow<I, A> {
  /** Runs the flow (a subflow when called inside a flow) and returns its result; fails if it did not complete. */
  (...params: ParamsArg<I>): Call<A, FlowRunFailed | FlowError>
  /** Runs the flow and returns its final state, whatever it is. */
  readonly run: (...args: RunArgs<I>) => Call<State, FlowError>
  readonly name: string
  readonly options: FlowOptions<any, I>
  /** The body itself, to call directly (no orchestration). */
  readonly fn: (params: any) => unknown
}

interface FlowDefinition {
  readonly name: string
  readonly version: string
  readonly tags: ReadonlyArray<string>
  readonly policy: RunPolicy
  readonly body: (params: any) => unknown
  readonly options: FlowOptions<any, any>
  readonly taskRunner: TaskRunnerSpec
}

const decodePolicy = Schema.decodeUnknownEither(RunPolicy)

export function flow<F extends (params?: any) => unknown>(body: F): Flow<Parameters<F>[0], TaskResult<ReturnType<F>>>
export function flow<P, I, F extends (params: P) => unknown>(options: FlowOptions<P, I> & { readonly parameters: Schema.Schema<P, I, never> }, body: F): Flow<I, TaskResult<ReturnType<F>>>
export function flow<F extends (params?: any) => unknown>(options: FlowOptions<Parameters<F>[0], Parameters<F>[0]>, body: F): Flow<Parameters<F>[0], TaskResult<ReturnType<F>>>
export function flow(a: any, b?: any): Flow<any, unknown> {
  const options: FlowOptions<any, any> = b === undefined ? {} : a
  const body: (params: any) => unknown = b === undefined ? a : b
  if (typeof body !== "function") throw new TypeError("flow(): the body must be a function")
  const name = nameOf(options, body, "flow")
  const policy = decodePolicy({ ...runPolicy(options), ...(options.retryCrashed === true ? { retry_crashed: true } : {}) })
  if (Either.isLeft(policy)) throw new TypeError(`flow '${name}': invalid retry options: ${ParseResult.TreeFormatter.formatErrorSync(policy.left)}`)
  checkDuration(`flow '${name}'`, "timeout", options.timeout)
  const def: FlowDefinition = {
    name, body, options, policy: policy.right,
    tags: [...new Set(options.tags ?? [])],
    version: options.version ?? createHash("md5").update(body.toString()).digest("hex"),
    taskRunner: options.taskRunner ?? concurrent()
  }
  const direct = (params: unknown) => call(() => mainThreadOnly(def, () => withServices(Effect.flatMap(runFlow(def, params), (o) => flowValue(def, o)))))
  const run = (...args: Array<unknown>) => {
    const last = args[args.length - 1]
    const hasOptions = args.length === 2 || (args.length === 1 && def.options.parameters === undefined && isRunOptions(last))
    const params = hasOptions && args.length === 1 ? undefined : args[0]
    const signal = hasOptions ? (last as RunCallOptions).signal : undefined
    return call(() => mainThreadOnly(def, () => withServices(Effect.map(runFlow(def, params, signal), (o) => o.state))))
  }
  const f = Object.assign((params?: unknown) => direct(params), { run, options, fn: body })
  Object.defineProperty(f, "name", { value: name })
  const runner: FlowRunner = {
    flowName: name,
    policy: def.policy,
    runFlowRun: (flowRunId) => call(() => mainThreadOnly(def, () => withServices(Effect.map(runExistingFlowRun(def, flowRunId), (o) => o.state)))),
    shutdown
  }
  Object.defineProperty(f, FLOW_RUNNER, { value: runner })
  return f as unknown as Flow<any, unknown>
}

/**
 * Flows start in the main thread only. In a parallel() runner's worker thread a flow call comes from a task body or,
 * typically, from the top-level code of a module imported there to find a task: it fails at once, before opening any
 * database, saying how to fix the module (which would otherwise start a second flow run in every worker).
 */
const mainThreadOnly = <A, E>(def: FlowDefinition, start: () => Effect.Effect<A, E>): Effect.Effect<A, E | FlowInWorkerThread> =>
  inTaskWorkerThread()
    ? Effect.fail(new FlowInWorkerThread({
      flow: def.name,
      message: `Flow '${def.name}' was started in a worker thread of a parallel() task runner, where flows cannot run: they start from the main thread. If a module imported there to find a task runs this flow when imported, move the tasks for parallel() to a module of their own that runs no flows, and start the flow from another one.`
    }))
    : start()

const isRunOptions = (u: unknown): u is RunCallOptions =>
  typeof u === "object" && u !== null && Object.keys(u).length > 0 && Object.keys(u).every((k) => k === "signal")

/**
 * Runs a flow run's actor until it ends or `signal` aborts; an abort interrupts it (so it ends Cancelled, with its task
 * runs and subflows) and the outcome is the run's final state as stored.
 */
const untilAborted = (actor: Effect.Effect<RunOutcome, ActorError, OrionServices>, signal: AbortSignal | undefined, flowRunId: Uuid) =>
  signal === undefined ? actor : Effect.gen(function*() {
    const fiber = yield* Effect.fork(actor)
    const aborted = yield* Deferred.make<void>()
    const onAbort = () => Deferred.unsafeDone(aborted, Exit.void)
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
    const finished = yield* Effect.raceFirst(Effect.map(Fiber.join(fiber), Option.some), Effect.as(Deferred.await(aborted), Option.none<RunOutcome>())).pipe(
      Effect.ensuring(Effect.sync(() => signal.removeEventListener("abort", onAbort))))
    if (Option.isSome(finished)) return finished.value
    yield* Fiber.interrupt(fiber)
    const run = yield* Effect.flatMap(OrionClient, (client) => client.readFlowRun(flowRunId))
    return { state: run.state!, value: Option.none() } satisfies RunOutcome
  })

const flowValue = (def: FlowDefinition, outcome: RunOutcome): Effect.Effect<unknown, FlowRunFailed> =>
  outcome.state.type === "COMPLETED"
    ? Effect.succeed(Option.getOrUndefined(outcome.value))
    : Effect.fail(new FlowRunFailed({
      flow: def.name,
      flow_run_id: outcome.state.state_details.flow_run_id ?? "",
      state: outcome.state.name,
      message: `Flow run of '${def.name}' ended ${outcome.state.name} (${outcome.state.type})${outcome.state.message ? `: ${outcome.state.message}` : ""}`
    }))

/** Flows are registered once per client: later runs reuse the id. */
const knownFlows = new WeakMap<object, Map<string, FlowRecord>>()
const ensureFlow = (client: Context.Tag.Service<OrionClient>, name: string, tags: ReadonlyArray<string>): Effect.Effect<FlowRecord, ClientError> => {
  let byName = knownFlows.get(client)
  if (byName === undefined) knownFlows.set(client, byName = new Map())
  const known = byName.get(name)
  if (known !== undefined) return Effect.succeed(known)
  return Effect.tap(client.ensureFlow({ name, tags: [...tags] }), (f) => Effect.sync(() => byName.set(name, f)))
}

interface ParsedParameters {
  readonly stored: Record<string, unknown>
  readonly decoded: unknown
  readonly invalid: string | undefined
}

const strict = { errors: "all", onExcessProperty: "error" } as const

/** Validates and decodes the parameters; what is stored is their encoded (JSON) form. */
const parameters = (def: FlowDefinition, raw: unknown): Effect.Effect<ParsedParameters, ParameterValidationError> => {
  const asObject = (v: unknown): Record<string, unknown> =>
    v === undefined ? {} : typeof v === "object" && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : { value: v }
  const schema = def.options.parameters
  let result: ParsedParameters
  if (schema === undefined) result = { stored: asObject(raw), decoded: raw, invalid: undefined }
  else {
    const decoded = Schema.decodeUnknownEither(schema, strict)(raw)
    if (Either.isLeft(decoded)) {
      result = { stored: asObject(raw), decoded: raw, invalid: ParseResult.TreeFormatter.formatErrorSync(decoded.left) }
    } else {
      const encoded = Schema.encodeEither(schema)(decoded.right)
      result = { stored: asObject(Either.getOrElse(encoded, () => raw)), decoded: decoded.right, invalid: undefined }
    }
  }
  try {
    jsonSerializer.encode(result.stored)
  } catch (e) {
    return Effect.fail(new ParameterValidationError({
      flow: def.name, flow_run_id: null,
      message: `The parameters of flow '${def.name}' must be JSON data to be stored: ${e instanceof Error ? e.message : String(e)}`
    }))
  }
  return Effect.succeed(result)
}

/** One flow run, from creation to its final state. */
export const runFlow = (def: FlowDefinition, raw: unknown, signal?: AbortSignal): Effect.Effect<RunOutcome, FlowError, OrionServices> =>
  // Its span (when tracing) opens before the run is created, so that every step of the run is in its trace.
  runSpan("orion.flow_run", { "orion.flow.name": def.name }, Effect.gen(function*() {
    const parent = yield* currentRun
    if (Option.isSome(parent) && parent.value._tag === "TaskRun") {
      return yield* new NotInFlow({
        message: `Flow '${def.name}' was called inside task '${parent.value.taskName}'. Call subflows from the flow body.`
      })
    }
    const parentFlow = Option.getOrUndefined(parent) as FlowRunContext | undefined
    const client = yield* OrionClient
    const params = yield* parameters(def, raw)
    const record = yield* ensureFlow(client, def.name, def.tags)

    let parentTaskRunId: Uuid | null = null
    let done: Deferred.Deferred<State> | undefined
    if (parentFlow !== undefined) {
      const key = `subflow:${def.name}`
      const n = parentFlow.dynamicKeys.get(key) ?? 0
      parentFlow.dynamicKeys.set(key, n + 1)
      const placeholder = yield* client.createTaskRun({
        name: `${def.name}-${n}`, flow_run_id: parentFlow.flowRunId, task_key: key, dynamic_key: String(n),
        cache_key: null, cache_expiration: null, task_version: def.version, empirical_policy: RunPolicy.make({}),
        tags: [...def.tags], task_inputs: {}, state: States.Pending()
      })
      parentTaskRunId = placeholder.id
      const finished = yield* Deferred.make<State>()
      done = finished
      parentFlow.children.push({ finalState: Deferred.await(finished) })
    }

    // Named here rather than by the server, so that its report at the end needs no read of the run.
    const runName = randomSlug()
    // Proposed with the create, when the parameters are valid: the answer comes with the new run.
    const running = States.Running()
    const created = yield* client.createFlowRun({
      name: runName, flow_id: record.id, deployment_id: null, flow_version: def.version,
      parameters: params.stored, context: {}, empirical_policy: def.policy,
      tags: [...new Set([...def.tags, ...(parentFlow?.tags ?? [])])],
      idempotency_key: null, parent_task_run_id: parentTaskRunId, state: States.Pending()
    }, params.invalid === undefined ? { start: running } : undefined)
    const ref = { kind: "flow_run" as const, id: created.id }
    yield* Effect.annotateCurrentSpan({ "orion.flow_run.id": created.id, "orion.flow_run.name": runName })
    yield* flowRunCreated(def.name, created.id, runName)
    if (params.invalid !== undefined) {
      yield* client.proposeState(ref, States.Failed({ message: `Invalid parameters: ${params.invalid}` }))
      if (done !== undefined) yield* Deferred.succeed(done, (yield* client.readFlowRun(created.id)).state!)
      return yield* new ParameterValidationError({ flow: def.name, flow_run_id: created.id, message: `Invalid parameters for flow '${def.name}': ${params.invalid}` })
    }
    const heartbeats = new HeartbeatGroup()
    const actor = runActor({
      ref,
      running,
      started: created.started,
      execute: attempt(def, created.id, params.decoded, parentFlow, heartbeats),
      cancelWatch: Duration.decode(def.options.cancelCheckInterval ?? "1 second"),
      heartbeats: { lead: heartbeats },
      // A top-level run's end is reported below, once it is final (also when aborted).
      report: { kind: "Flow run", name: runName, definition: def.name, flowRunId: created.id, maxRetries: def.policy.max_retries, reportEnd: parentFlow !== undefined }
    })
    const outcome = yield* untilAborted(actor, signal, created.id).pipe(Effect.onExit((exit) => done === undefined ? Effect.void
      : exit._tag === "Success" ? Deferred.succeed(done, exit.value.state)
      : Effect.flatMap(Effect.orElseSucceed(client.readFlowRun(created.id), () => undefined), (r) =>
        r?.state ? Deferred.succeed(done!, r.state) : Deferred.interrupt(done!))))
    if (parentFlow === undefined) yield* flowRunFinished(def.name, created.id, runName, outcome.state)
    return outcome
  }))

/**
 * Takes over a flow run that already exists — one an agent claimed for a deployment (Pending), or a Scheduled one — and
 * runs it to its end with its stored parameters: no second flow run is created. From Scheduled, the orchestrator makes
 * it wait for its time; a run another process has started is aborted (and left to that process); a finished one is
 * adopted as it ended. A run of another flow, or with parameters this flow refuses, ends Failed saying why.
 */
const runExistingFlowRun = (def: FlowDefinition, flowRunId: string): Effect.Effect<RunOutcome, ActorError | ParameterValidationError, OrionServices> =>
  Effect.gen(function*() {
    const client = yield* OrionClient
    const run = yield* client.readFlowRun(flowRunId)
    const ref = { kind: "flow_run" as const, id: run.id }
    const fail = (message: string) =>
      Effect.map(client.proposeState(ref, States.Failed({ message })), (answer): RunOutcome => ({ state: answer.state ?? run.state!, value: Option.none() }))
    const record = yield* ensureFlow(client, def.name, def.tags)
    if (record.id !== run.flow_id) {
      const other = yield* Effect.orElseSucceed(Effect.map(client.readFlow(run.flow_id), (f) => `'${f.name}'`), () => run.flow_id)
      return yield* fail(`This flow run is of flow ${other}, but the code loaded for it is flow '${def.name}'.`)
    }
    const params = yield* parameters(def, run.parameters)
    if (params.invalid !== undefined) return yield* fail(`Invalid parameters: ${params.invalid}`)
    const heartbeats = new HeartbeatGroup()
    const outcome = yield* runSpan("orion.flow_run", { "orion.flow_run.id": run.id, "orion.flow_run.name": run.name, "orion.flow.name": def.name }, runActor({
      ref,
      running: States.Running(),
      execute: attempt(def, run.id, params.decoded, undefined, heartbeats),
      cancelWatch: Duration.decode(def.options.cancelCheckInterval ?? "1 second"),
      heartbeats: { lead: heartbeats }
    }))
    yield* flowRunFinished(def.name, run.id, run.name, outcome.state)
    return outcome
  })

/** One execution of the flow body with its own task runner; its return value becomes the terminal state. */
const attempt = (def: FlowDefinition, flowRunId: Uuid, params: unknown, parent: FlowRunContext | undefined, heartbeats: HeartbeatGroup): Effect.Effect<Attempt, never, OrionServices> =>
  Effect.scoped(Effect.gen(function*() {
    const controller = new LazyAbortController()
    const ctx: FlowRunContext = {
      _tag: "FlowRun",
      flowRunId,
      flowName: def.name,
      tags: [...new Set([...def.tags, ...(parent?.tags ?? [])])],
      runtime: yield* Effect.runtime<OrionServices>(),
      taskRunner: yield* def.taskRunner.make,
      fibers: yield* FiberSet.make(),
      children: [],
      dynamicKeys: new Map(),
      producers: new WeakMap(),
      get signal() {
        return controller.signal
      },
      heartbeats
    }
    // The run actor runs a watched body (every flow's) in a fiber of its own: the run's context is set on it and left there.
    const result = yield* Effect.either(runBody(def.body, [params], ctx, controller, timeoutOf(def.options.timeout), { ownFiber: true }))
    if (Either.isLeft(result) && result.left._tag === "TimedOut") {
      return { proposal: States.TimedOut({ message: `Flow run exceeded its timeout of ${Duration.format(result.left.after)}.` }), value: Option.none() }
    }
    const children = yield* Effect.forEach(ctx.children, (c) => c.finalState)
    if (Either.isLeft(result)) {
      const failure = result.left
      return { proposal: States.Failed({ message: `Flow run encountered an exception: ${failure._tag === "Failed" ? describeFailure(failure.cause) : ""}` }), value: Option.none() }
    }
    return yield* finalState(def, result.right, children)
  }))

/** Spec §7.9: nothing returned → the states of every task run and subflow; futures → theirs; anything else → Completed. */
const finalState = (def: FlowDefinition, value: unknown, children: ReadonlyArray<State>): Effect.Effect<Attempt, never, ResultStore> =>
  Effect.gen(function*() {
    if (value === undefined) return { proposal: aggregate(children), value: Option.some(undefined) }
    const futures = isTaskFuture(value) ? [value] : Array.isArray(value) && value.length > 0 && value.every(isTaskFuture) ? value as Array<TaskFuture<unknown>> : undefined
    if (futures !== undefined) {
      const outcomes = yield* Effect.forEach(futures, (f) => f.outcome)
      const proposal = aggregate(outcomes.map((o) => o.state))
      const values = outcomes.map((o) => Option.getOrUndefined(o.value))
      return { proposal, value: Option.some(isTaskFuture(value) ? values[0] : values) }
    }
    if (def.options.persistResult === false) return { proposal: States.Completed(), value: Option.some(value) }
    const store = yield* ResultStore
    const data = yield* Effect.either(store.persist(value, serializerOf(def.options.serializer)))
    if (Either.isLeft(data)) {
      const message = data.left instanceof ResultNotSerializable
        ? `The result of flow '${def.name}' cannot be stored: ${data.left.message}`
        : `The result of flow '${def.name}' could not be stored: ${data.left.message}`
      return { proposal: States.Failed({ message }), value: Option.none() }
    }
    return { proposal: States.Completed({ data: data.right }), value: Option.some(value) }
  })

/** Completed when every state completed; Failed naming how many did not. */
const aggregate = (states: ReadonlyArray<State>): StateCreate => {
  if (states.length === 0) return States.Completed()
  const failed = states.filter((s) => s.type === "FAILED" || s.type === "CRASHED" || s.type === "CANCELLED").length
  const completed = states.filter((s) => s.type === "COMPLETED").length
  if (completed === states.length) return States.Completed({ message: "All states completed." })
  if (failed > 0) return States.Failed({ message: `${failed}/${states.length} states failed.` })
  return States.Failed({ message: `${states.length - completed}/${states.length} states are not final.` })
}
