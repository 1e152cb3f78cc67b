/**
 * The orchestrator actor: the only writer of run states. Proposals queue in its mailbox; one writer fiber takes
 * whatever has arrived (group commit), applies the policy to each inside one SQL transaction with an optimistic
 * check on every run's current state (runtime/orchestrator-batch.ts), records each decision and event, commits, and
 * only then answers and publishes (runtime/orchestrator-commit.ts says when an answer may come before its commit).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Context, Effect, Layer } from "effect"
import { type FlowRunCreate, type ObjectNotFound, type OrchestrationResult, type RunRef, type StateCreate, type TaskRunCreate } from "../src/domain/index.js"
import { CorePolicies, type Policies } from "../src/orchestration/index.js"
import type { Database } from "../src/storage/database.js"
import { describeCause } from "../src/storage/database.js"
import { makeRunStore } from "../src/storage/run-store.js"
import { EventBus } from "./event-bus.js"
import * as Mailbox from "./internal/mailbox.js"
import { Once } from "./internal/once.js"
import { type Created, OrchestrationFailed, type Failure, type Reply, type Request, RunCache } from "./orchestrator-batch.js"
import { failAll, makeCommitter } from "./orchestrator-commit.js"
import { SlotWaiters } from "./slot-waiters.js"

export { type Created, OrchestrationFailed } from "./orchestrator-batch.js"

export interface ProposeOptions {
  /** Skip the core rules (global transforms still apply), as spec §3.1. */
  readonly force?: boolean
}

export interface CreateOptions {
  /**
   * A proposal to make as soon as the run exists (its Running), in the same transaction: one round trip and one
   * step of the transaction instead of two. The proposal goes through the policy exactly as if it had been made separately.
   */
  readonly start?: StateCreate
}

export interface CreateFlowRunOptions extends CreateOptions {
  /** Made by the scheduler for a deployment's schedule (`auto_scheduled`): such runs are replaced when the schedule changes. */
  readonly autoScheduled?: boolean
}

export class Orchestrator extends Context.Tag("orion/Orchestrator")<Orchestrator, {
  /** Asks to move a run to `state`; answers with what was decided and the state now current. */
  readonly propose: (ref: RunRef, state: StateCreate, options?: ProposeOptions) => Effect.Effect<OrchestrationResult, ObjectNotFound | OrchestrationFailed>
  /** Creates a flow run and takes its first transition (default Pending, forced), then `start`'s, in one transaction; idempotent. */
  readonly createFlowRun: (payload: FlowRunCreate, options?: CreateFlowRunOptions) => Effect.Effect<Created, ObjectNotFound | OrchestrationFailed>
  /** Creates a task run likewise; idempotent on (flow_run_id, task_key, dynamic_key). */
  readonly createTaskRun: (payload: TaskRunCreate, options?: CreateOptions) => Effect.Effect<Created, ObjectNotFound | OrchestrationFailed>
  /**
   * Waits until every transition already answered is committed (see `answerBeforeCommit`): a read after it sees
   * them, from any connection. At once when none is pending.
   */
  readonly committed: Effect.Effect<void>
  /**
   * Resumes when a task run told to WAIT for a concurrency slot may ask again: a slot under its tag was given back in
   * this process. Never, when the run waits for no slot (its WAIT's delay is then the wait).
   */
  readonly slotWait: (runId: string) => Effect.Effect<void>
  /** Forgets cached run states, e.g. after runs were deleted or the database was reset. */
  readonly invalidate: (runId?: string) => Effect.Effect<void>
}>() {}

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

/** Resumes after the event loop's pending I/O callbacks have run (a `setImmediate` turn). */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})
const make = (options: OrchestratorOptions) => Effect.gen(function*() {
  const maxBatch = options.maxBatch ?? 256
  const gatherIo = options.gatherIo ?? false
  const store = yield* makeRunStore
  const bus = yield* EventBus
  const mailbox = Mailbox.make<Request>()
  const cache = new RunCache(options.cacheSize ?? 50_000)
  const slots = new SlotWaiters()
  const committer = makeCommitter({ policies: options.policies ?? CorePolicies, store, cache }, bus, mailbox, slots, {
    maxBatch,
    answerBeforeCommit: options.answerBeforeCommit ?? false
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
    const done = yield* Effect.catchAllDefect(committer.commitNow(requests, runtime, clock), (cause) =>
      Effect.as(failAll(requests, `Orchestrator failure: ${cause instanceof Error ? cause.message : String(cause)}`), true))
    if (done) return
    yield* committer.commit(requests).pipe(Effect.catchAllCause((cause) => failAll(requests, `Orchestrator failure: ${describeCause(cause)}`)))
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
    createFlowRun: (payload, opts) => ask<Created>((reply) => ({ _tag: "Create", kind: "flow_run", payload, start: opts?.start, autoScheduled: opts?.autoScheduled ?? false, reply })),
    createTaskRun: (payload, opts) => ask<Created>((reply) => ({ _tag: "Create", kind: "task_run", payload, start: opts?.start, autoScheduled: false, reply })),
    committed: committer.committed,
    slotWait: (runId) => slots.woken(runId),
    invalidate: (runId) => Effect.sync(() => (runId === undefined ? cache.forget() : cache.forget(runId)))
  })
})

/** The orchestrator on the current database; needs `SqlClient`, `Database` and `EventBus`. */
export const layer = (options: OrchestratorOptions = {}): Layer.Layer<Orchestrator, never, SqlClient.SqlClient | Database | EventBus> =>
  Layer.scoped(Orchestrator, make(options))
