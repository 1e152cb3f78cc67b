/**
 * One transaction's work for the orchestrator actor, knowing no dialect: each request (a proposal, a create) applied
 * through the policy against the runs as the transaction has them so far, and the states, decisions and events it
 * records — written through a `RunWriter`, SQLite's synchronous one or the one through Effects.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Cause, Context, Data, Effect, Exit, Option, Runtime, RuntimeFlags, Schema } from "effect"
import {
  formatTimestamp, isTerminal, materialize, States, newUuid, ObjectNotFound, OrchestrationResult, randomSlug, State,
  type Decision, type FlowRunCreate, type OrionEvent, type RunKind, type StateCreate, type TaskRunCreate, type Uuid
} from "../src/domain/index.js"
import {
  orchestrateSteps, OrchestrationStore, runStepsSync, stampAfter, toEffect,
  type EngineOutcome, type OrchestratedRun, type Policies, type Steps
} from "../src/orchestration/index.js"
import type { RunStore } from "../src/storage/run-store.js"
import { newRunRow, stateRow, type NewRunFields, type RunWriter } from "../src/storage/run-writer.js"
import type { StateRow } from "../src/storage/tables.js"
import type { Once } from "./internal/once.js"

/** Applying a proposal failed for a reason other than the rules (e.g. the database); nothing was written. */
export class OrchestrationFailed extends Schema.TaggedError<OrchestrationFailed>()("OrchestrationFailed", {
  message: Schema.String
}) {}

export interface ProposeOptions {
  /** Skip the core rules (global transforms still apply), as spec §3.1. */
  readonly force?: boolean
}

/** A created (or, idempotently, found) run and its current state. */
export interface Created {
  readonly id: Uuid
  readonly created: boolean
  readonly state: State | null
  /** With `start`, for a run just created: what was decided on that proposal, made in the same transaction. */
  readonly started?: OrchestrationResult
}

export type Failure = ObjectNotFound | OrchestrationFailed

/** Where a request's answer goes: the asking fiber waits on it. */
export type Reply<A> = Once<A, Failure>

export type Request =
  | { readonly _tag: "Propose"; readonly kind: RunKind; readonly id: string; readonly state: StateCreate; readonly force: boolean; readonly reply: Reply<OrchestrationResult> }
  | { readonly _tag: "Create"; readonly kind: RunKind; readonly payload: FlowRunCreate | TaskRunCreate; readonly start: StateCreate | undefined; readonly autoScheduled: boolean; readonly reply: Reply<Created> }

/** The run moved on under us (another process): roll back, reload, try again. */
export class StaleRun extends Data.TaggedError("StaleRun")<{ readonly id: string }> {}
/** An idempotent create found its run already there. */
class RunExists extends Data.TaggedError("RunExists")<{}> {}

const encodeStateSchema = Schema.encodeSync(State)
const timestampOrNull = (d: Date | null) => (d === null ? null : formatTimestamp(d))

/**
 * A state's wire encoding, as `Schema.encodeSync(State)` gives it (same fields, same order) but written out: this runs
 * for every transition, and the Schema walk cost ~25 µs of it. Invalid dates take the Schema path, which reports them.
 */
const encodeState = (s: State): typeof State.Encoded => {
  const d = s.state_details
  if (d === undefined || Number.isNaN(s.timestamp.getTime()) || (d.scheduled_time !== null && Number.isNaN(d.scheduled_time.getTime())) ||
    (d.cache_expiration !== null && Number.isNaN(d.cache_expiration.getTime()))) return encodeStateSchema(s)
  return {
    id: s.id, type: s.type, name: s.name, timestamp: formatTimestamp(s.timestamp), message: s.message,
    data: s.data === null ? null : { encoding: s.data.encoding, blob: s.data.blob },
    state_details: {
      flow_run_id: d.flow_run_id, task_run_id: d.task_run_id, child_flow_run_id: d.child_flow_run_id,
      scheduled_time: timestampOrNull(d.scheduled_time), cache_key: d.cache_key, cache_expiration: timestampOrNull(d.cache_expiration)
    }
  }
}

/** SQLite's synchronous writes, or the writes through Effects (see `Batch`). */
export type NowWriter = RunWriter<"now">
type Writer = NowWriter | RunWriter<"effect">

/** A run created in the request being handled, to be inserted when the request is done (SQLite; see `Batch`). */
interface PendingInsert {
  readonly fields: NewRunFields
  readonly name: string
  readonly autoScheduled: boolean
}

/** Steps that fail at once with `error`. */
function* failWith<E extends Cause.YieldableError>(error: E): Steps<never, E> {
  return yield* error
}

/** Committed run states by run id, least recently used first (no read before a write). */
export class RunCache {
  private readonly runs = new Map<string, OrchestratedRun>()
  constructor(private readonly size: number) {}
  get(id: string) {
    return this.runs.get(id)
  }
  remember(run: OrchestratedRun) {
    this.runs.delete(run.id)
    // A finished task run is rarely proposed for again (a flow retry reloads it): keep memory for the living ones.
    if (run.kind === "task_run" && run.state !== null && isTerminal(run.state.type)) return
    this.runs.set(run.id, run)
    if (this.runs.size > this.size) this.runs.delete(this.runs.keys().next().value!)
  }
  forget(id?: string) {
    if (id === undefined) this.runs.clear()
    else this.runs.delete(id)
  }
}

/** What every batch works with: the policies, the database, the runs remembered. */
export interface BatchEnv {
  readonly policies: Policies
  readonly store: RunStore
  readonly cache: RunCache
}

/** What a batch's rules said of concurrency slots, acted on once it commits (see `SlotWaiters`). */
export interface SlotNotes {
  /** Runs told to wait for a slot, with the tag. */
  readonly waits: Array<readonly [runId: string, tag: string]>
  /** Tags under which a slot was given back, once per slot. */
  readonly freed: Array<string>
}

/** Points the run at its new state through Effects, failing with `StaleRun` when another writer moved it on. */
function* updateOrStale(writer: RunWriter<"effect">, run: OrchestratedRun, before: OrchestratedRun, now: Date): Steps<void, StaleRun | SqlError> {
  if (!(yield* writer.updateRun(run, before, now))) return yield* new StaleRun({ id: run.id })
}

/** Inserts a new run through Effects; finding one with its identity there already throws `RunExists` (see `create`). */
function* insertOrThrow(writer: RunWriter<"effect">, kind: RunKind, row: ReturnType<typeof newRunRow>): Steps<void, SqlError> {
  // Thrown, not failed: it unwinds the engine (no after-hooks for a run that was not stored) to the catch in `create`.
  if (!(yield* writer.insertRun(kind, row))) throw new RunExists()
}

/** The id of the run a create conflicted with (it was inserted meanwhile, by another writer). */
const findExisting = (writer: RunWriter<"effect">, kind: RunKind, p: NewRunFields) =>
  Effect.flatMap(writer.findExisting(kind, p), (found) =>
    found === null
      ? new OrchestrationFailed({ message: `A ${kind.replace("_", " ")} with this identity exists but could not be read` })
      : Effect.succeed(found))

/** One transaction's work: runs changed so far (visible to later requests of the batch), decisions, events. */
export class Batch {
  readonly staged = new Map<string, OrchestratedRun>()
  /** Set when a rule wrote something other processes share (a concurrency slot, a cache entry, another run). */
  touchesShared = false
  /** A run as this batch, or an earlier one of the same open transaction, left it. */
  find(id: string): OrchestratedRun | undefined {
    return this.staged.get(id) ?? this.parent?.find(id)
  }
  /**
   * On SQLite, runs created in this request and not yet inserted: the row is written once, when the request is done,
   * with the run's state then — so a task run created and started together is one INSERT, not an INSERT and an UPDATE.
   */
  readonly pendingInserts = new Map<string, PendingInsert>()

  /** Writes the runs created by the request just handled (see `pendingInserts`). */
  flushInserts(sync: NowWriter) {
    for (const [id, pending] of this.pendingInserts) {
      const run = this.staged.get(id)
      if (run === undefined) continue // its create did not complete: nothing of it is recorded, so nothing is written
      if (!sync.insertRun(run.kind, newRunRow(run, pending.fields, pending.name, this.now, pending.autoScheduled))) {
        throw new Error(`the ${run.kind.replace("_", " ")} ${id} could not be inserted: a run with the same identity appeared`)
      }
    }
    this.pendingInserts.clear()
  }
  readonly decisions: Array<Decision> = []
  /** The batch's events; each gets its id when the events table assigns it (`id` last, as the wire has it). */
  readonly events: Array<{ -readonly [K in keyof OrionEvent]: OrionEvent[K] }> = []
  readonly states = { flow_run: [] as Array<StateRow>, task_run: [] as Array<StateRow> }
  /**
   * @param writer SQLite's synchronous writes, or the writes through Effects — on PostgreSQL, and on SQLite for a
   * batch whose rules had to wait (a hook that sleeps or queries something not ready), which cannot run synchronously.
   */
  constructor(readonly env: BatchEnv, readonly now: Date, readonly parent?: Batch, readonly writer: Writer = env.store.nowWriter ?? env.store.effectWriter) {
    this.orchestrationStore = rulesStore(this, env.store)
  }

  *current(kind: RunKind, id: string): Steps<Option.Option<OrchestratedRun>, SqlError> {
    const known = this.find(id) ?? this.env.cache.get(id)
    if (known) return Option.some(known)
    return yield* this.env.store.loadRun(kind, id)
  }

  /** Records the decision — on the stored state's row, or on its own when it stored none; returns the state's wire encoding. */
  record(run: OrchestratedRun, from: State | null, proposed: State, force: boolean, outcome: EngineOutcome, announce = true) {
    const encoded = outcome.state === null ? null : encodeState(outcome.state)
    const decided = {
      timestamp: this.now, from_type: from?.type ?? null, proposed_type: proposed.type, proposed_name: proposed.name, forced: force,
      status: outcome.status, rule: outcome.decidedBy, reason: outcome.reason, rules: outcome.rules
    }
    if (encoded !== null) this.states[run.kind].push(stateRow(run.kind, run.id, encoded, decided))
    else this.decisions.push({ ...decided, id: newUuid(), run_kind: run.kind, run_id: run.id as Uuid, state_id: null, state_type: null, state_name: null })
    if (encoded === null || !announce) return encoded
    this.events.push({
      occurred: this.now,
      event: run.kind === "flow_run" ? "flow_run.state_changed" : "task_run.state_changed",
      flow_run_id: run.flow_run_id as Uuid,
      task_run_id: run.kind === "task_run" ? run.id as Uuid : null,
      payload: {
        run_id: run.id, status: outcome.status, from_type: from?.type ?? null,
        state: encoded, rule: outcome.decidedBy, reason: outcome.reason
      },
      id: 0
    })
    return encoded
  }

  /** Applies the policy to one proposal against the run's latest state in this batch. */
  *transition(kind: RunKind, id: string, proposal: StateCreate | State, force: boolean, resetRunCount = false): Steps<OrchestrationResult, ObjectNotFound | StaleRun | SqlError, OrchestrationStore> {
    let known = this.find(id) ?? this.env.cache.get(id)
    if (known === undefined) {
      const loaded = yield* this.env.store.loadRun(kind, id)
      if (Option.isNone(loaded)) return yield* new ObjectNotFound({ thing: kind === "flow_run" ? "Flow run" : "Task run", id })
      known = loaded.value
    }
    const before = known
    const work: OrchestratedRun = { ...before, run_count: resetRunCount ? 0 : before.run_count }
    const at = stampAfter(before.state, this.now)
    const proposed: State = "id" in proposal ? { ...proposal, timestamp: at } : materialize(proposal, at)
    const now = this.now
    // Created in this request and not written yet: its row will be inserted with this state.
    const pending = this.pendingInserts.has(id)
    const writer = this.writer
    const outcome = yield* orchestrateSteps(
      { policy: this.env.policies[kind], run: work, proposed, force, now },
      (state): Steps<void, StaleRun | SqlError> | void => {
        work.state = state
        if (pending) return
        // SQLite writes at once, with no steps to yield unless the run moved on under us
        if (writer.mode === "now") return writer.updateRun(work, before, now) ? undefined : failWith(new StaleRun({ id }))
        return updateOrStale(writer, work, before, now)
      }
    )
    this.staged.set(id, outcome.state === null ? before : work)
    this.record(work, before.state, proposed, force, outcome)
    return { state: outcome.state, status: outcome.status, details: outcome.details }
  }

  /**
   * Creates the run, then makes the `start` proposal, if any, against it. A run that was found rather than created
   * (a replayed request, an earlier attempt's run) is not started: the caller proposes for it as for any run.
   */
  *createAndStart(kind: RunKind, payload: FlowRunCreate | TaskRunCreate, start: StateCreate | undefined, autoScheduled: boolean): Steps<Created, ObjectNotFound | OrchestrationFailed | StaleRun | SqlError, OrchestrationStore> {
    const created = yield* this.create(kind, payload, autoScheduled)
    if (start === undefined || !created.created) return created
    const started = yield* this.transition(kind, created.id, start, false)
    return { ...created, state: started.state ?? created.state, started }
  }

  *create(kind: RunKind, payload: FlowRunCreate | TaskRunCreate, autoScheduled: boolean): Steps<Created, OrchestrationFailed | SqlError, OrchestrationStore> {
    const now = this.now
    const id = (payload.id ?? newUuid()) as Uuid
    const isFlow = kind === "flow_run"
    const p = payload as FlowRunCreate & TaskRunCreate
    const run: OrchestratedRun = {
      kind, id, flow_run_id: isFlow ? id : p.flow_run_id,
      parent_task_run_id: isFlow ? p.parent_task_run_id : null,
      tags: p.tags, empirical_policy: p.empirical_policy,
      state: null, state_type: null, state_name: null, run_count: 0,
      expected_start_time: null, next_scheduled_start_time: null, start_time: null, end_time: null, total_run_time: 0
    }
    const name = p.name ?? randomSlug()
    const initial = materialize(p.state ?? States.Pending(), now)
    const writer = this.writer
    if (writer.mode === "now") {
      // SQLite: this transaction is the only writer, so look first, and insert (once) when the request is done.
      const existingId = writer.findExisting(kind, p)
      if (existingId !== null) {
        const existing = yield* this.current(kind, existingId)
        return { id: existingId as Uuid, created: false, state: Option.isSome(existing) ? existing.value.state : null }
      }
    }
    const pendingInserts = this.pendingInserts
    let outcome: EngineOutcome
    try {
      outcome = yield* orchestrateSteps(
        { policy: this.env.policies[kind], run, proposed: initial, force: true, now },
        (state): Steps<void, SqlError> | void => {
          run.state = state
          if (writer.mode === "now") {
            pendingInserts.set(id, { fields: p, name, autoScheduled })
            return
          }
          return insertOrThrow(writer, kind, newRunRow(run, p, name, now, autoScheduled))
        }
      )
    } catch (e) {
      if (!(e instanceof RunExists)) throw e
      const existingId = yield* findExisting(this.env.store.effectWriter, kind, p)
      const existing = yield* this.current(kind, existingId)
      return { id: existingId as Uuid, created: false, state: Option.isSome(existing) ? existing.value.state : null }
    }
    this.staged.set(id, run)
    const encoded = this.record(run, null, initial, true, outcome, false)
    this.events.push({
      occurred: now,
      event: isFlow ? "flow_run.created" : "task_run.created",
      flow_run_id: run.flow_run_id as Uuid,
      task_run_id: isFlow ? null : id,
      payload: { run_id: id, name, ...(isFlow ? { flow_id: p.flow_id } : { task_key: p.task_key }), state: encoded },
      id: 0
    })
    return { id, created: true, state: run.state }
  }

  /** What the rules may ask of the database in this batch (provided to them as `OrchestrationStore`). */
  readonly orchestrationStore: Context.Tag.Service<OrchestrationStore>
  /** Set when a rule spoke of concurrency slots. */
  slots: SlotNotes | undefined = undefined
  slotNotes(): SlotNotes {
    return (this.slots ??= { waits: [], freed: [] })
  }
}

/** The store rules use in `batch`: its writes of what other processes share mark the batch (`touchesShared`). */
const rulesStore = (batch: Batch, store: RunStore): Context.Tag.Service<OrchestrationStore> => {
  const shared = <A extends ReadonlyArray<any>, R>(write: (...args: A) => R): (...args: A) => R => (...args) => {
    batch.touchesShared = true
    return write(...args)
  }
  return {
    findCachedState: store.findCachedState,
    insertCacheEntry: shared(store.insertCacheEntry),
    expireCacheEntries: shared(store.expireCacheEntries),
    limitsForTags: store.limitsForTags,
    setActiveSlots: shared(store.setActiveSlots),
    awaitSlot: (runId, tag) => Effect.sync(() => void batch.slotNotes().waits.push([runId, tag])),
    slotFreed: (tag) => Effect.sync(() => void batch.slotNotes().freed.push(tag)),
    taskRunIdsInStates: store.taskRunIdsInStates,
    // Called by a rule or transform, so inside this batch, where this store is provided.
    forceState: shared((kind, runId, state, opts) =>
      (toEffect(() => batch.transition(kind, runId, state, true, opts?.resetRunCount ?? false)) as Effect.Effect<OrchestrationResult, ObjectNotFound | StaleRun | SqlError>).pipe(
        Effect.catchTag("ObjectNotFound", () => Effect.void),
        Effect.catchTag("StaleRun", (e) => Effect.die(e)),
        Effect.asVoid
      ))
  }
}

/** Which referenced object is missing, when an insert broke a foreign key. */
export const missingReference = (sql: SqlClient.SqlClient, kind: RunKind, p: FlowRunCreate & TaskRunCreate) =>
  Effect.gen(function*() {
    const exists = (table: string, id: string | null) =>
      id === null ? Effect.succeed(true) : Effect.map(sql`SELECT 1 AS one FROM ${sql(table)} WHERE id = ${id}`, (r) => r.length > 0)
    if (kind === "task_run") return (yield* exists("flow_run", p.flow_run_id)) ? null : new ObjectNotFound({ thing: "Flow run", id: p.flow_run_id })
    if (!(yield* exists("flow", p.flow_id))) return new ObjectNotFound({ thing: "Flow", id: p.flow_id })
    if (!(yield* exists("deployment", p.deployment_id))) return new ObjectNotFound({ thing: "Deployment", id: p.deployment_id! })
    if (!(yield* exists("task_run", p.parent_task_run_id))) return new ObjectNotFound({ thing: "Task run", id: p.parent_task_run_id! })
    return null
  }).pipe(Effect.orElseSucceed(() => null))

const handle = (batch: Batch, r: Request): Steps<unknown, Failure | StaleRun | SqlError, OrchestrationStore> =>
  r._tag === "Propose"
    ? batch.transition(r.kind, r.id, r.state, r.force)
    : batch.createAndStart(r.kind, r.payload, r.start, r.autoScheduled)

export type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Failure }
const isFailure = (e: unknown): e is Failure =>
  (e as { _tag?: unknown })?._tag === "ObjectNotFound" || (e as { _tag?: unknown })?._tag === "OrchestrationFailed"

/**
 * Each request's steps, one after the other: a request's own failure (not found, not applicable) is its answer;
 * anything else fails the batch. Driven by Effect (PostgreSQL).
 */
const handleAll = (batch: Batch, requests: ReadonlyArray<Request>) =>
  Effect.gen(function*() {
    const out: Array<Outcome> = []
    for (const r of requests) {
      const result = yield* Effect.either(toEffect(() => handle(batch, r)))
      if (result._tag === "Right") out.push({ ok: true, value: result.right })
      else if (isFailure(result.left)) out.push({ ok: false, error: result.left })
      else return yield* result.left
    }
    return out
  })

/**
 * The same on SQLite, where every query answers at once: the whole transaction's work — each request's steps, then
 * the states, events and decisions — runs as one synchronous call, on `runtime` for the few steps that yield.
 */
export const batchSync = (sync: NowWriter, batch: Batch, requests: ReadonlyArray<Request>, runtime: Runtime.Runtime<OrchestrationStore>): Exit.Exit<BatchResults, StaleRun | SqlError> => {
  const out: Array<Outcome> = []
  for (const r of requests) {
    const exit = runStepsSync(handle(batch, r), runtime)
    if (Exit.isSuccess(exit)) out.push({ ok: true, value: exit.value })
    else {
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure) && isFailure(failure.value)) out.push({ ok: false, error: failure.value })
      else return Exit.failCause(exit.cause as Cause.Cause<StaleRun | SqlError>)
    }
    try {
      batch.flushInserts(sync)
    } catch (cause) {
      return Exit.die(cause)
    }
  }
  try {
    sync.insertStates("flow_run", batch.states.flow_run)
    sync.insertStates("task_run", batch.states.task_run)
    const ids = sync.insertEvents(batch.events)
    sync.insertDecisions(batch.decisions)
    return Exit.succeed({ out, ids })
  } catch (cause) {
    return Exit.fail(new SqlError({ cause, message: "Failed to execute statement" }))
  }
}

export interface BatchResults { readonly out: Array<Outcome>; readonly ids: ReadonlyArray<number> }

/** One batch's work inside the current transaction, through Effects (PostgreSQL, and SQLite when the connection was busy). */
export const batchWork = (batch: Batch, requests: ReadonlyArray<Request>): Effect.Effect<BatchResults, StaleRun | SqlError> => {
  const writer = batch.writer
  return writer.mode === "now"
    ? Effect.flatMap(Effect.runtime<never>(), (runtime) =>
      batchSync(writer, batch, requests, Runtime.make({
        context: Context.add(runtime.context, OrchestrationStore, batch.orchestrationStore),
        // interruptible, though this runs inside an uninterruptible transaction: a hook that had to wait is stopped
        runtimeFlags: RuntimeFlags.enable(runtime.runtimeFlags, RuntimeFlags.Interruption),
        fiberRefs: runtime.fiberRefs
      })))
    : Effect.gen(function*() {
      const out = yield* handleAll(batch, requests)
      yield* writer.insertStates("flow_run", batch.states.flow_run)
      yield* writer.insertStates("task_run", batch.states.task_run)
      const ids = yield* writer.insertEvents(batch.events)
      yield* writer.insertDecisions(batch.decisions)
      return { out, ids }
    }).pipe(Effect.provideService(OrchestrationStore, batch.orchestrationStore))
}
