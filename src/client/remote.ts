/**
 * The remote `OrionClient` (`ORION_API_URL` set): each method is a route of `OrionApi`, called through its typed client
 * (`remote-http.ts`, which retries). Proposals and task-run creates made at about the same time share one request
 * (`batcher.ts`); retried writes never apply twice (`remote-replay.ts`, and ids chosen here for new flow runs).
 */
import { Effect, Either, Layer, Option, Schema } from "effect"
import {
  newUuid, ObjectNotFound, type OrchestrationResult, type RunCreated, type RunKind, type RunRef, type StateCreate,
  type TaskRunCreateItem, Uuid
} from "../domain/index.js"
import { MAX_SLOT_WAIT_SECONDS } from "../api/groups/runs.js"
import * as Batcher from "./batcher.js"
import { type ClientError, type CreatedRun, OrionClient, OrionUnavailable } from "./orion-client.js"
import { type ApiClient, isRefusal, OrionHttp, type RemoteOptions } from "./remote-http.js"
import * as RemoteHttp from "./remote-http.js"
import { earlierAnswer, earlierStart, KnownStates } from "./remote-replay.js"

const isUuid = Schema.is(Uuid)
const things = { flow: "Flow", deployment: "Deployment", flow_run: "Flow run", task_run: "Task run" } as const

/** A malformed id names nothing: not found, as the local client answers (the server would refuse the path). */
const withId = <A, E, R>(thing: keyof typeof things, id: string, f: (id: Uuid) => Effect.Effect<A, E, R>): Effect.Effect<A, E | ObjectNotFound, R> =>
  isUuid(id) ? f(id) : Effect.fail(new ObjectNotFound({ thing: things[thing], id }))

/** A proposal waiting for its batch, with the state its run was in before it (for `earlierAnswer`). */
interface Proposal {
  readonly id: Uuid
  readonly state: StateCreate
  readonly force: boolean
  readonly before: string | null
}

type Outcomes<O> = ReadonlyArray<Either.Either<O, ClientError>>

/** Roughly the bytes of an item on the wire, so that a batch stays well under the server's body limit (1 MiB by default). */
const proposalWeight = (p: Proposal) => 300 + (p.state.message?.length ?? 0) + (p.state.data?.blob.length ?? 0) + (p.state.name?.length ?? 0)
const createWeight = ({ run }: TaskRunCreateItem) =>
  900 + (run.name?.length ?? 0) + run.task_key.length + run.dynamic_key.length + (run.cache_key?.length ?? 0) + JSON.stringify(run.task_inputs).length
// Two batches in flight per kind: while one is on the server, the next fills up. More senders made smaller batches
// for no more throughput (bench:api remote flow, 4 → 2 senders: ~5 % less CPU on each side, task runs/s within noise).
const batchLimits = { maxItems: 100, maxWeight: 256 * 1024, senders: 2 } as const

/** Sends a batch of proposals; a retry first looks for items that an earlier attempt applied, and sends only the others. */
const sendProposals = (api: ApiClient, kind: RunKind, items: ReadonlyArray<Proposal>, attempts: number) =>
  Effect.gen(function*() {
    const answers: Array<Either.Either<OrchestrationResult, ClientError> | undefined> = new Array(items.length)
    if (attempts > 0) {
      const earlier = yield* Effect.forEach(items, (p) =>
        Effect.catchTag(earlierAnswer(api, { kind, id: p.id }, p.state, p.force, p.before), "ObjectNotFound", () => Effect.succeedNone), { concurrency: 8 })
      earlier.forEach((answer, i) => { if (Option.isSome(answer)) answers[i] = Either.right(answer.value) })
    }
    const rest = items.flatMap((_, i) => (answers[i] === undefined ? [i] : []))
    if (rest.length > 0) {
      const payload = rest.map((i) => ({ id: items[i]!.id, state: items[i]!.state, force: items[i]!.force }))
      const outcomes = yield* (kind === "flow_run" ? api.flow_runs : api.task_runs).setStates({ payload })
      outcomes.forEach((o, j) => { answers[rest[j]!] = "result" in o ? Either.right(o.result) : Either.left(o.error) })
    }
    return answers as Outcomes<OrchestrationResult>
  })

/** Sends a batch of task-run creates (idempotent); on a retry, a run found rather than created may carry its `start` from the earlier attempt. */
const sendCreates = (api: ApiClient, url: string, items: ReadonlyArray<TaskRunCreateItem>, attempts: number) =>
  Effect.gen(function*() {
    const outcomes = yield* api.task_runs.createMany({ payload: items })
    return yield* Effect.forEach(outcomes, (o, i): Effect.Effect<Either.Either<RunCreated, ClientError>, unknown> => {
      if ("error" in o) {
        return Effect.succeed(Either.left(o.error._tag === "ObjectNotFound" ? o.error : new OrionUnavailable({
          message: `The Orion API at ${url} refused POST /api/task_runs/create_many: HTTP 409 Conflict: ${o.error.detail}`
        })))
      }
      const start = items[i]!.start
      if (attempts === 0 || o.run.created || start === null) return Effect.succeed(Either.right(o.run))
      return Effect.map(earlierStart(api, o.run.id, start), (started) =>
        Either.right(Option.isSome(started) ? { ...o.run, state: started.value.state, started: started.value } : o.run))
    }, { concurrency: 8 })
  })

/** A refused batch of several items is sent again one item at a time, so that only the item at fault fails. */
const aloneIfRefused = <I, O>(send: (items: ReadonlyArray<I>) => Effect.Effect<Outcomes<O>, ClientError>) => (items: ReadonlyArray<I>) =>
  Effect.catchIf(send(items), (e) => items.length > 1 && isRefusal(e), () =>
    Effect.forEach(items, (item) =>
      Effect.match(send([item]), {
        onFailure: (e) => Either.left<ClientError>(e),
        onSuccess: (outcomes) => outcomes[0] ?? Either.left<ClientError>(new OrionUnavailable({ message: "The Orion API answered an empty batch" }))
      }), { concurrency: 4 }))

const make = Effect.gen(function*() {
  const http = yield* OrionHttp
  const known = new KnownStates(50_000)

  const proposer = (kind: RunKind) =>
    Batcher.make<Proposal, OrchestrationResult, ClientError>({
      ...batchLimits,
      weight: proposalWeight,
      send: aloneIfRefused((items) => http.call(`POST /api/${kind}s/set_states`, (api, attempts) => sendProposals(api, kind, items, attempts)))
    })
  const propose = { flow_run: yield* proposer("flow_run"), task_run: yield* proposer("task_run") }
  const createTask = yield* Batcher.make<TaskRunCreateItem, RunCreated, ClientError>({
    ...batchLimits,
    weight: createWeight,
    send: aloneIfRefused((items) => http.call("POST /api/task_runs/create_many", (api, attempts) => sendCreates(api, http.url, items, attempts)))
  })

  const readFlowRun = (id: string) =>
    withId("flow_run", id, (id) => http.call(`GET /api/flow_runs/${id}`, (api) => api.flow_runs.get({ path: { id } }))).pipe(
      Effect.tap((run) => known.learn(run.id, run.state))
    )
  const readTaskRun = (id: string) =>
    withId("task_run", id, (id) => http.call(`GET /api/task_runs/${id}`, (api) => api.task_runs.get({ path: { id } }))).pipe(
      Effect.tap((run) => known.learn(run.id, run.state))
    )
  const currentStateId = (ref: RunRef): Effect.Effect<string | null, ClientError> =>
    ref.kind === "flow_run" ? Effect.map(readFlowRun(ref.id), (run) => run.state_id) : Effect.map(readTaskRun(ref.id), (run) => run.state_id)

  const proposeState = (ref: RunRef, state: StateCreate, options?: { readonly force?: boolean }) =>
    withId(ref.kind, ref.id, (id) =>
      Effect.gen(function*() {
        const remembered = known.get(id)
        const before = remembered !== undefined ? remembered : yield* currentStateId(ref)
        const result = yield* propose[ref.kind]({ id, state, force: options?.force ?? false, before })
        if (result.state !== null) known.learn(id, result.state)
        return result
      }))

  return OrionClient.of({
    ensureFlow: (flow) => http.call("POST /api/flows/", (api) => api.flows.create({ payload: flow })),
    readFlow: (id) => withId("flow", id, (id) => http.call(`GET /api/flows/${id}`, (api) => api.flows.get({ path: { id } }))),
    readDeployment: (id) => withId("deployment", id, (id) => http.call(`GET /api/deployments/${id}`, (api) => api.deployments.get({ path: { id } }))),
    createFlowRun: (run) => {
      // A flow run without an idempotency key gets its id here, so a retried POST finds the run the first one made.
      const payload = run.id === undefined && run.idempotency_key === null ? { ...run, id: newUuid() } : run
      return http.call("POST /api/flow_runs/", (api) => api.flow_runs.create({ payload, withResponse: true })).pipe(
        Effect.map(([created, response]): CreatedRun => {
          known.learn(created.id, created.state)
          return { id: created.id, created: response.status === 201, state: created.state }
        })
      )
    },
    readFlowRun,
    // The states read are remembered too: a proposal right after (an agent's claim) needs no read of its own.
    readFlowRuns: (request) => http.call("POST /api/flow_runs/filter", (api) => api.flow_runs.filter({ payload: request })).pipe(
      Effect.tap((runs) => { for (const run of runs) known.learn(run.id, run.state) })
    ),
    createTaskRun: (run, options) =>
      Effect.tap(createTask({ run, start: options?.start ?? null }), (created) => known.learn(created.id, created.state)),
    readTaskRun,
    readTaskRuns: (request) => http.call("POST /api/task_runs/filter", (api) => api.task_runs.filter({ payload: request })),
    proposeState,
    readStates: (ref) =>
      withId(ref.kind, ref.id, (id) =>
        ref.kind === "flow_run"
          ? http.call(`GET /api/flow_run_states/?flow_run_id=${id}`, (api) => api.flow_run_states.list({ urlParams: { flow_run_id: id } }))
          : http.call(`GET /api/task_run_states/?task_run_id=${id}`, (api) => api.task_run_states.list({ urlParams: { task_run_id: id } })))
        .pipe(Effect.catchTag("ObjectNotFound", () => Effect.succeed([]))),
    createLogs: (logs) =>
      logs.length === 0 ? Effect.void : http.call("POST /api/logs/", (api) => Effect.asVoid(api.logs.create({ payload: logs }))),
    // Held open by the server until a slot frees or the timeout: a WAIT's delay stays the wait when it answers false.
    slotWait: (ref) =>
      ref.kind !== "task_run" ? Effect.never : http.call(`POST /api/task_runs/${ref.id}/wait_for_slot`, (api) =>
        api.task_runs.waitForSlot({ path: { id: ref.id }, payload: { timeout_seconds: MAX_SLOT_WAIT_SECONDS } })).pipe(
          Effect.flatMap((answer) => (answer.woken ? Effect.void : Effect.never)),
          Effect.catchAll(() => Effect.never)
        ),
    heartbeat: (ref) =>
      withId(ref.kind, ref.id, (id) =>
        http.call(`POST /api/${ref.kind}s/${id}/heartbeat`, (api) => (ref.kind === "flow_run" ? api.flow_runs : api.task_runs).heartbeat({ path: { id } })))
  })
})

/** The remote client on an `OrionHttp` already in context (shared, e.g., with the remote result store). */
export const layerOnHttp: Layer.Layer<OrionClient, never, OrionHttp> = Layer.scoped(OrionClient, make)

/** The remote client of the server at `options.url`, exposing its `OrionHttp` too. */
export const layer = (options: RemoteOptions) => layerOnHttp.pipe(Layer.provideMerge(RemoteHttp.layer(options)))
