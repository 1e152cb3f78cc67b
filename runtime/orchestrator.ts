/**
 * The orchestrator actor: the only writer of run states. Proposals queue in its mailbox; one writer fiber takes
 * whatever has arrived (group commit), applies the policy to each inside one SQL transaction with an optimistic
 * check on every run's current state, records each decision and event, commits, and only then answers and publishes.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Chunk, Clock, Context, Data, Effect, Exit, Layer, Option, Runtime, RuntimeFlags, Schema } from "effect"
import {
  formatTimestamp, isTerminal, materialize, States, newUuid, ObjectNotFound, OrchestrationResult, randomSlug, State,
  type Decision, type FlowRunCreate, type OrionEvent, type RunKind, type RunRef, type StateCreate,
  type TaskRunCreate, type Uuid
} from "../src/domain/index.js"
import {
  CorePolicies, orchestrateSteps, OrchestrationStore, runStepsSync, stampAfter, toEffect,
  type EngineOutcome, type OrchestratedRun, type Policies, type Steps
} from "../src/orchestration/index.js"
import { Database, describeCause } from "../src/storage/database.js"
import { makeRunStore } from "../src/storage/run-store.js"
import { newRunRow, stateRow, type NewRunFields, type RunWriter } from "../src/storage/run-writer.js"
import type { StateRow } from "../src/storage/tables.js"
import { SqlError } from "@effect/sql/SqlError"
import { EventBus } from "./event-bus.js"
import * as Mailbox from "./mailbox.js"
import { Once } from "./once.js"

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

export interface CreateOptions {
  /**
   * A proposal to make as soon as the run exists (a task run's Running), in the same transaction: one round trip
   * and one commit instead of two. The proposal goes through the policy exactly as if it had been made separately.
   */
  readonly start?: StateCreate
}

export interface CreateFlowRunOptions {
  /** Made by the scheduler for a deployment's schedule (`auto_scheduled`): such runs are replaced when the schedule changes. */
  readonly autoScheduled?: boolean
}

export class Orchestrator extends Context.Tag("orion/Orchestrator")<Orchestrator, {
  /** Asks to move a run to `state`; answers with what was decided and the state now current. */
  readonly propose: (ref: RunRef, state: StateCreate, options?: ProposeOptions) => Effect.Effect<OrchestrationResult, ObjectNotFound | OrchestrationFailed>
  /** Creates a flow run and takes its first transition (default Pending, forced) in one transaction; idempotent. */
  readonly createFlowRun: (payload: FlowRunCreate, options?: CreateFlowRunOptions) => Effect.Effect<Created, ObjectNotFound | OrchestrationFailed>
  /** Creates a task run likewise; idempotent on (flow_run_id, task_key, dynamic_key). */
  readonly createTaskRun: (payload: TaskRunCreate, options?: CreateOptions) => Effect.Effect<Created, ObjectNotFound | OrchestrationFailed>
  /**
   * Waits until every transition already answered is committed (see `answerBeforeCommit`): a read after it sees
   * them, from any connection. At once when none is pending.
   */
  readonly committed: Effect.Effect<void>
  /** Forgets cached run states, e.g. after runs were deleted or the database was reset. */
  readonly invalidate: (runId?: string) => Effect.Effect<void>
}>() {}

type Failure = ObjectNotFound | OrchestrationFailed

/** Where a request's answer goes: the asking fiber waits on it. */
type Reply<A> = Once<A, Failure>

type Request =
  | { readonly _tag: "Propose"; readonly kind: RunKind; readonly id: string; readonly state: StateCreate; readonly force: boolean; readonly reply: Reply<OrchestrationResult> }
  | { readonly _tag: "Create"; readonly kind: RunKind; readonly payload: FlowRunCreate | TaskRunCreate; readonly start: StateCreate | undefined; readonly autoScheduled: boolean; readonly reply: Reply<Created> }

/** The run moved on under us (another process): roll back, reload, try again. */
class StaleRun extends Data.TaggedError("StaleRun")<{ readonly id: string }> {}
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

export interface OrchestratorOptions {
  readonly policies?: Policies
  /** Most proposals committed in one transaction. */
  readonly maxBatch?: number
  /** Runs whose current state is kept in memory (no read before a write). */
  readonly cacheSize?: number
  /**
   * Before each commit, let the event loop's pending I/O run (one `setImmediate` turn), so requests that have already
   * arrived join the batch. Halves the server's CPU per `set_state` under load; in-process callers gain nothing.
   */
  readonly gatherIo?: boolean
  /**
   * Answer a batch before its commit when every answer in it is a non-terminal state, accepted by rules that touched
   * nothing shared with other processes (no concurrency slot, no cache entry, no other run): the transaction stays
   * open, and the batch is committed with whatever arrives before the event loop's next turn — a run's terminal
   * state, which is only ever answered after its commit. For in-process callers whose runs are their own (local mode):
   * an awaited task run then costs one commit instead of two. A crash loses at most the non-terminal transitions
   * answered within that turn.
   */
  readonly answerBeforeCommit?: boolean
}

/** SQLite's synchronous writes, or the writes through Effects (see `Batch`). */
type NowWriter = RunWriter<"now">
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

/** Resumes after the event loop's pending I/O callbacks have run (a `setImmediate` turn). */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const make = (options: OrchestratorOptions) => Effect.gen(function*() {
  const policies = options.policies ?? CorePolicies
  const maxBatch = options.maxBatch ?? 256
  const cacheSize = options.cacheSize ?? 50_000
  const gatherIo = options.gatherIo ?? false
  const answerBeforeCommit = options.answerBeforeCommit ?? false
  const store = yield* makeRunStore
  const sql = store.sql
  const bus = yield* EventBus
  const mailbox = Mailbox.make<Request>()

  /** Committed run states by run id, least recently used first. */
  const cache = new Map<string, OrchestratedRun>()
  const remember = (run: OrchestratedRun) => {
    cache.delete(run.id)
    // A finished task run is rarely proposed for again (a flow retry reloads it): keep memory for the living ones.
    if (run.kind === "task_run" && run.state !== null && isTerminal(run.state.type)) return
    cache.set(run.id, run)
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!)
  }

  const effectWriter = store.effectWriter

  /** Points the run at its new state through Effects, failing with `StaleRun` when another writer moved it on. */
  function* updateOrStale(run: OrchestratedRun, before: OrchestratedRun, now: Date): Steps<void, StaleRun | SqlError> {
    if (!(yield* effectWriter.updateRun(run, before, now))) return yield* new StaleRun({ id: run.id })
  }

  /** Inserts a new run through Effects; finding one with its identity there already throws `RunExists` (see `create`). */
  function* insertOrThrow(kind: RunKind, row: ReturnType<typeof newRunRow>): Steps<void, SqlError> {
    // Thrown, not failed: it unwinds the engine (no after-hooks for a run that was not stored) to the catch in `create`.
    if (!(yield* effectWriter.insertRun(kind, row))) throw new RunExists()
  }

  /** One transaction's work: runs changed so far (visible to later requests of the batch), decisions, events. */
  class Batch {
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
    constructor(readonly now: Date, readonly parent?: Batch, readonly writer: Writer = store.nowWriter ?? effectWriter) {}

    *current(kind: RunKind, id: string): Steps<Option.Option<OrchestratedRun>, SqlError> {
      const known = this.find(id) ?? cache.get(id)
      if (known) return Option.some(known)
      return yield* store.loadRun(kind, id)
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
      let known = this.find(id) ?? cache.get(id)
      if (known === undefined) {
        const loaded = yield* store.loadRun(kind, id)
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
        { policy: policies[kind], run: work, proposed, force, now },
        (state): Steps<void, StaleRun | SqlError> | void => {
          work.state = state
          if (pending) return
          // SQLite writes at once, with no steps to yield unless the run moved on under us
          if (writer.mode === "now") return writer.updateRun(work, before, now) ? undefined : failWith(new StaleRun({ id }))
          return updateOrStale(work, before, now)
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
          { policy: policies[kind], run, proposed: initial, force: true, now },
          (state): Steps<void, SqlError> | void => {
            run.state = state
            if (writer.mode === "now") {
              pendingInserts.set(id, { fields: p, name, autoScheduled })
              return
            }
            return insertOrThrow(kind, newRunRow(run, p, name, now, autoScheduled))
          }
        )
      } catch (e) {
        if (!(e instanceof RunExists)) throw e
        const existingId = yield* findExisting(kind, p)
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

    private shared<A extends ReadonlyArray<any>, R>(write: (...args: A) => R): (...args: A) => R {
      return (...args) => {
        this.touchesShared = true
        return write(...args)
      }
    }

    readonly orchestrationStore: Context.Tag.Service<OrchestrationStore> = {
      findCachedState: store.findCachedState,
      insertCacheEntry: this.shared(store.insertCacheEntry),
      expireCacheEntries: this.shared(store.expireCacheEntries),
      limitsForTags: store.limitsForTags,
      setActiveSlots: this.shared(store.setActiveSlots),
      taskRunIdsInStates: store.taskRunIdsInStates,
      // Called by a rule or transform, so inside this batch, where this store is provided.
      forceState: this.shared((kind, runId, state, opts) =>
        (toEffect(() => this.transition(kind, runId, state, true, opts?.resetRunCount ?? false)) as Effect.Effect<OrchestrationResult, ObjectNotFound | StaleRun | SqlError>).pipe(
          Effect.catchTag("ObjectNotFound", () => Effect.void),
          Effect.catchTag("StaleRun", (e) => Effect.die(e)),
          Effect.asVoid
        ))
    }
  }

  const findExisting = (kind: RunKind, p: NewRunFields) =>
    Effect.flatMap(effectWriter.findExisting(kind, p), (found) =>
      found === null
        ? new OrchestrationFailed({ message: `A ${kind.replace("_", " ")} with this identity exists but could not be read` })
        : Effect.succeed(found))

  /** Which referenced object is missing, when an insert broke a foreign key. */
  const missingReference = (kind: RunKind, p: FlowRunCreate & TaskRunCreate) =>
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

  type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Failure }
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
  const batchSync = (sync: NowWriter, batch: Batch, requests: ReadonlyArray<Request>, runtime: Runtime.Runtime<OrchestrationStore>): Exit.Exit<BatchResults, StaleRun | SqlError> => {
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

  interface BatchResults { readonly out: Array<Outcome>; readonly ids: ReadonlyArray<number> }

  /** One batch's work inside the current transaction, through Effects (PostgreSQL, and SQLite when the connection was busy). */
  const batchWork = (batch: Batch, requests: ReadonlyArray<Request>): Effect.Effect<BatchResults, StaleRun | SqlError> => {
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

  /** A step after the first of an open transaction: undone alone (to its savepoint) when it fails. */
  const savepointed = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | SqlError> =>
    Effect.zipRight(sql`SAVEPOINT orion_step`, Effect.matchEffect(effect, {
      onFailure: (e) => Effect.zipRight(Effect.zipRight(sql`ROLLBACK TO SAVEPOINT orion_step`, sql`RELEASE SAVEPOINT orion_step`), Effect.fail(e)),
      onSuccess: (a) => Effect.as(sql`RELEASE SAVEPOINT orion_step`, a)
    }))

  /**
   * Runs `requests` in one transaction, then publishes and answers; per-request rule outcomes and not-founds are kept
   * apart. As `commitNow` does, a batch that `answersEarly` is answered at once and the transaction stays open for
   * what arrives before the event loop's next turn. Fails, with nothing answered, when the first batch or the commit
   * failed before any early answer (`commit` then retries); after one, a failed commit is every later request's answer.
   * Sequenced on the bus, so this process commits and publishes events in id order (see `EventSink`).
   */
  const runBatch = (requests: ReadonlyArray<Request>, throughEffects = false): Effect.Effect<void, StaleRun | SqlError> => {
    const steps: Array<Step> = []
    let leftover: ReadonlyArray<Request> = []
    const step = (rs: ReadonlyArray<Request>, parent: Batch | undefined) =>
      Effect.flatMap(Clock.currentTimeMillis, (millis) => {
        const batch = new Batch(new Date(millis), parent, throughEffects ? effectWriter : undefined)
        return Effect.map(batchWork(batch, rs), (results): Step => ({ batch, requests: rs, results, early: false }))
      })
    const span = Effect.gen(function*() {
      steps.push(yield* step(requests, undefined))
      while (steps.length < maxSteps) {
        const last = steps[steps.length - 1]!
        if (!answersEarly(last.batch, last.requests, last.results.out)) return
        answerEarly(last)
        const arrived = yield* moreBeforeNextTurn
        if (arrived.length === 0) return
        const next = yield* Effect.either(savepointed(step(arrived, last.batch)))
        if (next._tag === "Left") {
          leftover = arrived
          return
        }
        steps.push(next.right)
      }
    })
    const answered = Effect.sync(() => {
      for (const s of steps) {
        const events = committed(s.batch, s.results)
        bus.publishNow(events)
        if (!s.early) for (let i = 0; i < s.requests.length; i++) replyNow(s.requests[i]!, s.results.out[i]!)
      }
    })
    const transaction = Effect.uninterruptible(bus.sequenced(Effect.ensuring(Effect.matchCauseEffect(store.withTransaction(span), {
      onSuccess: () => answered,
      onFailure: (cause) => {
        if (steps.length === 0 || !steps[0]!.early) return Effect.failCause(cause)
        const message = `Could not apply the proposal: ${describeCause(cause)}`
        return Effect.sync(() => {
          for (const s of steps) if (!s.early) for (const r of s.requests) r.reply.complete(Exit.fail(new OrchestrationFailed({ message })))
        })
      }
    }), Effect.sync(settle))))
    return Effect.zipRight(transaction, Effect.suspend(() => leftover.length > 0 ? commit(leftover) : Effect.void))
  }

  /** A committed batch's bookkeeping: its runs remembered, its events numbered as the table assigned their ids. */
  const committed = (batch: Batch, results: BatchResults): ReadonlyArray<OrionEvent> => {
    for (const run of batch.staged.values()) remember(run)
    const events = batch.events
    for (let i = 0; i < events.length; i++) events[i]!.id = results.ids[i]!
    return events
  }

  /** Whether `requests`, handled in `batch` with `out`, may be answered before their commit (`answerBeforeCommit`). */
  const answersEarly = (batch: Batch, requests: ReadonlyArray<Request>, out: ReadonlyArray<Outcome>): boolean => {
    if (!answerBeforeCommit || batch.touchesShared) return false
    for (let i = 0; i < requests.length; i++) {
      const o = out[i]!
      if (!o.ok) return false
      if (requests[i]!._tag === "Propose") {
        const result = o.value as OrchestrationResult
        if (result.status !== "ACCEPT" || result.state === null || isTerminal(result.state.type)) return false
      } else {
        const created = o.value as Created
        if (created.state === null || isTerminal(created.state.type) || (created.started !== undefined && created.started.status !== "ACCEPT")) return false
      }
    }
    return true
  }

  /** One batch of an open transaction: its requests, what they came to, and whether they were answered already. */
  interface Step {
    readonly batch: Batch
    readonly requests: ReadonlyArray<Request>
    readonly results: BatchResults
    early: boolean
  }

  /** Resumes at the event loop's next turn (`takeBefore`'s deadline). */
  const nextTurnDeadline = (fire: () => void) => {
    const handle = setImmediate(fire)
    return () => clearImmediate(handle)
  }
  /** Requests that arrive before the event loop's next turn. */
  const moreBeforeNextTurn = mailbox.takeBefore(maxBatch, nextTurnDeadline)

  /** Set while answers given before their commit are not committed yet; completed when they are (or failed to be). */
  let uncommitted: Once<void> | undefined
  const answerEarly = (step: Step) => {
    step.early = true
    uncommitted ??= new Once<void>()
    for (let i = 0; i < step.requests.length; i++) replyNow(step.requests[i]!, step.results.out[i]!)
  }
  /** The open transaction has ended: readers waiting for its early answers may go on. */
  const settle = () => {
    const waiting = uncommitted
    uncommitted = undefined
    waiting?.complete(Exit.void)
  }

  /** Most batches one open transaction takes before it commits. */
  const maxSteps = 64

  /**
   * On SQLite, batches as synchronous steps of one transaction — then publication and answers — when neither the
   * connection nor the event order is held elsewhere (the common case): `commit` takes ~120 Effect steps per batch for
   * the same. A batch that `answersEarly` is answered at once, and the transaction stays open for the requests that
   * arrive before the event loop's next turn, which join it as the next step (a failing step is undone alone and goes
   * through `commit` after). False, with nothing done, when it could not begin or its first step failed: the caller
   * then goes through `commit`, which waits its turn, retries and reports.
   */
  const commitNow = (requests: ReadonlyArray<Request>, runtime: Runtime.Runtime<never>, clock: Clock.Clock): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      const sync = store.nowWriter
      const openNow = store.openNow
      if (sync === null || openNow === null) return Effect.succeed(false)
      const releaseOrder = bus.holdNow()
      if (releaseOrder === undefined) return Effect.succeed(false)
      const tx = openNow()
      if (tx === undefined) {
        releaseOrder()
        return Effect.succeed(false)
      }
      const runStep = (rs: ReadonlyArray<Request>, parent: Batch | undefined) => {
        const batch = new Batch(new Date(clock.unsafeCurrentTimeMillis()), parent)
        const exit = tx.step(() =>
          batchSync(sync, batch, rs, Runtime.make({
            context: Context.add(Context.merge(runtime.context, tx.inTransaction), OrchestrationStore, batch.orchestrationStore),
            runtimeFlags: runtime.runtimeFlags,
            fiberRefs: runtime.fiberRefs
          })))
        return Exit.isSuccess(exit) ? { batch, requests: rs, results: exit.value, early: false } satisfies Step : undefined
      }
      const first = runStep(requests, undefined)
      if (first === undefined) {
        tx.rollback()
        releaseOrder()
        return Effect.succeed(false)
      }
      const steps: Array<Step> = [first]
      let leftover: ReadonlyArray<Request> = []
      const more: Effect.Effect<void> = Effect.suspend(() => {
        const last = steps[steps.length - 1]!
        if (steps.length >= maxSteps || !answersEarly(last.batch, last.requests, last.results.out)) return Effect.void
        answerEarly(last)
        return Effect.flatMap(moreBeforeNextTurn, (arrived) => {
          if (arrived.length === 0) return Effect.void
          const next = runStep(arrived, last.batch)
          if (next === undefined) {
            leftover = arrived
            return Effect.void
          }
          steps.push(next)
          return more
        })
      })
      const finish = Effect.sync(() => {
        try {
          const commitExit = tx.commit()
          if (Exit.isFailure(commitExit)) {
            const message = `Could not apply the proposal: ${describeCause(commitExit.cause)}`
            for (const step of steps) if (!step.early) for (const r of step.requests) r.reply.complete(Exit.fail(new OrchestrationFailed({ message })))
            return
          }
          for (const step of steps) {
            bus.publishNow(committed(step.batch, step.results))
            if (!step.early) for (let i = 0; i < step.requests.length; i++) replyNow(step.requests[i]!, step.results.out[i]!)
          }
        } finally {
          releaseOrder()
          settle()
        }
      })
      // Uninterruptible: a writer being stopped still commits what it has answered (its wait ends at the next turn).
      return Effect.uninterruptible(Effect.ensuring(more, finish)).pipe(
        Effect.zipRight(Effect.suspend(() => leftover.length > 0 ? commit(leftover) : Effect.void)),
        Effect.as(true)
      )
    })

  const replyNow = (r: Request, result: Outcome) =>
    (r.reply as Reply<unknown>).complete(result.ok ? Exit.succeed(result.value) : Exit.fail(result.error))

  const failAll = (requests: ReadonlyArray<Request>, message: string) =>
    Effect.sync(() => {
      for (const r of requests) r.reply.complete(Exit.fail(new OrchestrationFailed({ message })))
    })



  /** Commits a batch; stale runs are reloaded and retried; other failures fall back to one transaction per request. */
  const commit = (requests: ReadonlyArray<Request>): Effect.Effect<void> =>
    Effect.gen(function*() {
      let throughEffects = false
      for (let attempt = 0; attempt < 10; attempt++) {
        const exit = yield* Effect.exit(runBatch(requests, throughEffects))
        if (exit._tag === "Success") return
        // On SQLite, a rule that had to wait stopped the synchronous run (rolled back): do the batch through Effects.
        if (!throughEffects && Cause.defects(exit.cause).pipe(Chunk.some(Runtime.isAsyncFiberException))) {
          throughEffects = true
          continue
        }
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure) && (failure.value as { _tag?: string })._tag === "StaleRun") {
          cache.delete((failure.value as StaleRun).id)
          continue
        }
        // Another process holds SQLite's write lock or committed under our read snapshot: start over shortly.
        if (/SQLITE_BUSY|database is locked/i.test(describeCause(exit.cause))) {
          for (const r of requests) if (r._tag === "Propose") cache.delete(r.id)
          yield* Effect.sleep(`${5 * (attempt + 1)} millis`)
          continue
        }
        if (requests.length > 1) return yield* Effect.forEach(requests, (r) => commit([r]), { discard: true })
        const r = requests[0]!
        if (r._tag === "Create") {
          const missing = yield* missingReference(r.kind, r.payload as FlowRunCreate & TaskRunCreate)
          if (missing) return yield* Effect.sync(() => r.reply.complete(Exit.fail(missing)))
        }
        return yield* failAll(requests, `Could not apply the proposal: ${describeCause(exit.cause)}`)
      }
      return yield* failAll(requests, "Could not apply the proposal: the run kept changing under concurrent writers")
    })

  /** Scheduler turns a lone in-process request waits for company (a sequential flow's next task run needs two). */
  const lonePatience = 8
  /**
   * Longest the writer goes, while requests keep coming, without letting the event loop turn. In-process, flows of
   * quick tasks keep Effect's scheduler busy on microtasks alone: without this, timers, I/O and signals (Ctrl-C)
   * waited for the whole flow — over a second for 5,000 no-op tasks.
   */
  const loopTurnEveryMs = 10
  let lastLoopTurn = performance.now()
  const writer = Effect.flatMap(Effect.zip(Effect.runtime<never>(), Effect.clock), ([runtime, clock]) => Effect.forever(Effect.gen(function*() {
    const requests = yield* mailbox.takeUpTo(maxBatch)
    if (requests.length === 0) return
    // Where proposals arrive over sockets (the API server), let the I/O already waiting run first: the requests it
    // carries join this transaction instead of each paying a commit of its own. In-process, a lone request lets the
    // fibers already scheduled run first (a few turns of Effect's scheduler, not a turn of the event loop): the fiber
    // it just woke — a sequential flow's next task run — has a request of its own to join it.
    if (gatherIo || performance.now() - lastLoopTurn > loopTurnEveryMs) {
      yield* nextTurn
      lastLoopTurn = performance.now()
      requests.push(...mailbox.poll(maxBatch - requests.length))
    } else if (requests.length === 1) {
      for (let turn = 0; turn < lonePatience && requests.length === 1; turn++) {
        yield* Effect.yieldNow()
        requests.push(...mailbox.poll(maxBatch - requests.length))
      }
    }
    // A fault after the commit (say, in a subscriber): the requests not answered yet learn of it; none is re-run.
    const done = yield* Effect.catchAllDefect(commitNow(requests, runtime, clock), (cause) =>
      Effect.as(failAll(requests, `Orchestrator failure: ${cause instanceof Error ? cause.message : String(cause)}`), true))
    if (done) return
    yield* commit(requests).pipe(Effect.catchAllCause((cause) => failAll(requests, `Orchestrator failure: ${describeCause(cause)}`)))
  })))
  yield* Effect.forkScoped(writer)
  // Requests still waiting when the orchestrator stops are answered, not left hanging.
  yield* Effect.addFinalizer(() => Effect.suspend(() => failAll(mailbox.close(), "The orchestrator stopped before applying this request")))

  const ask = <A>(make: (reply: Reply<A>) => Request) =>
    Effect.suspend(() => {
      const reply = new Once<A, Failure>()
      return mailbox.offer(make(reply)) ? reply.await : Effect.interrupt
    })

  return Orchestrator.of({
    propose: (ref, state, opts) => ask<OrchestrationResult>((reply) => ({ _tag: "Propose", kind: ref.kind, id: ref.id, state, force: opts?.force ?? false, reply })),
    createFlowRun: (payload, opts) => ask<Created>((reply) => ({ _tag: "Create", kind: "flow_run", payload, start: undefined, autoScheduled: opts?.autoScheduled ?? false, reply })),
    createTaskRun: (payload, opts) => ask<Created>((reply) => ({ _tag: "Create", kind: "task_run", payload, start: opts?.start, autoScheduled: false, reply })),
    committed: Effect.suspend(() => uncommitted?.await ?? Effect.void),
    invalidate: (runId) => Effect.sync(() => (runId === undefined ? cache.clear() : void cache.delete(runId)))
  })
})

/** The orchestrator on the current database; needs `SqlClient`, `Database` and `EventBus`. */
export const layer = (options: OrchestratorOptions = {}): Layer.Layer<Orchestrator, never, SqlClient.SqlClient | Database | EventBus> =>
  Layer.scoped(Orchestrator, make(options))
