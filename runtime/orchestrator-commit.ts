/**
 * The orchestrator's commit policy: the requests taken from its mailbox become one transaction ("group commit"). A
 * batch that may be answered before its commit (`answerBeforeCommit`) is, and its transaction stays open for what
 * arrives before the event loop's next turn; a run that moved on under us is reloaded and retried, a busy SQLite
 * waited for, and a batch that fails is split so that each request gets its own answer.
 */
import type { TransactionConnection } from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Cause, Chunk, Clock, Context, Effect, Exit, Option, Runtime } from "effect"
import { isTerminal, OrchestrationResult, type FlowRunCreate, type OrionEvent, type TaskRunCreate } from "../src/domain/index.js"
import { OrchestrationStore } from "../src/orchestration/index.js"
import { describeCause } from "../src/storage/database.js"
import { pipelinedWriter } from "../src/storage/run-writer.js"
import {
  Batch, batchSync, batchWork, missingReference, OrchestrationFailed,
  type BatchEnv, type BatchResults, type Created, type NowWriter, type Outcome, type Reply, type Request, type StaleRun
} from "./orchestrator-batch.js"
import type { EventBus } from "./event-bus.js"
import type * as Mailbox from "./internal/mailbox.js"
import { Once } from "./internal/once.js"
import type { SlotWaiters } from "./slot-waiters.js"

export interface CommitOptions {
  /** Most requests taken into one batch. */
  readonly maxBatch: number
  /** See `OrchestratorOptions.answerBeforeCommit`. */
  readonly answerBeforeCommit: boolean
}

/** One batch of an open transaction: its requests, what they came to, and whether they were answered already. */
interface Step {
  readonly batch: Batch
  readonly requests: ReadonlyArray<Request>
  readonly results: BatchResults
  early: boolean
}

/** A transaction the writer drives itself, its steps run synchronously (see `openDriven`). */
interface DrivenTransaction {
  readonly writer: NowWriter
  readonly inTransaction: Context.Context<TransactionConnection>
  readonly step: <A, E>(work: () => Exit.Exit<A, E>) => Exit.Exit<A, E | SqlError>
  /** On PostgreSQL: waits for the answers to what the last step sent; a step one of them failed is undone. */
  readonly settle: Effect.Effect<Exit.Exit<void, SqlError>> | undefined
  readonly commit: Effect.Effect<Exit.Exit<void, SqlError>>
  readonly rollback: Effect.Effect<void>
}

/** Most batches one open transaction takes before it commits. */
const maxSteps = 64

const replyNow = (r: Request, result: Outcome) =>
  (r.reply as Reply<unknown>).complete(result.ok ? Exit.succeed(result.value) : Exit.fail(result.error))

/** Answers each request with `OrchestrationFailed`. */
export const failAll = (requests: ReadonlyArray<Request>, message: string) =>
  Effect.sync(() => {
    for (const r of requests) r.reply.complete(Exit.fail(new OrchestrationFailed({ message })))
  })

/** Resumes at the event loop's next turn (`takeBefore`'s deadline). */
const nextTurnDeadline = (fire: () => void) => {
  const handle = setImmediate(fire)
  return () => clearImmediate(handle)
}

export const makeCommitter = (env: BatchEnv, bus: Context.Tag.Service<EventBus>, mailbox: Mailbox.Mailbox<Request>, slots: SlotWaiters, options: CommitOptions) => {
  const { store, cache } = env

  /**
   * A committed step's concurrency waits: runs told to wait for a slot are queued (before they are answered), runs
   * answered otherwise wait for none, and each slot given back wakes the first run waiting under its tag.
   */
  const settleSlots = ({ batch, requests, results: { out } }: Step) => {
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!
      const o = out[i]!
      if (r._tag === "Propose" && o.ok && (o.value as OrchestrationResult).status !== "WAIT") slots.forget(r.id)
    }
    if (batch.slots === undefined) return
    for (const [runId, tag] of batch.slots.waits) slots.wait(runId, tag)
    for (const tag of batch.slots.freed) slots.freed(tag)
  }

  /** A committed batch's bookkeeping: its runs remembered, its events numbered as the table assigned their ids. */
  const bookCommitted = (batch: Batch, results: BatchResults): ReadonlyArray<OrionEvent> => {
    for (const run of batch.staged.values()) cache.remember(run)
    const events = batch.events
    for (let i = 0; i < events.length; i++) events[i]!.id = results.ids[i]!
    return events
  }

  /** Whether a step may be answered before its commit (`answerBeforeCommit`). */
  const answersEarly = ({ batch, requests, results: { out } }: Step): boolean => {
    if (!options.answerBeforeCommit || batch.touchesShared) return false
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

  /** Requests that arrive before the event loop's next turn. */
  const moreBeforeNextTurn = mailbox.takeBefore(options.maxBatch, nextTurnDeadline)

  /**
   * Grows an open transaction: while its last step may be answered early, answers it and makes what arrives before the
   * event loop's next turn the next step (`nextStep`, undone alone when it fails). Returns the requests of a step that
   * failed, to be committed on their own after.
   */
  const grow = (steps: Array<Step>, nextStep: (rs: ReadonlyArray<Request>, parent: Batch) => Effect.Effect<Step | undefined>): Effect.Effect<ReadonlyArray<Request>> =>
    Effect.suspend(() => {
      const last = steps[steps.length - 1]!
      if (steps.length >= maxSteps || !answersEarly(last)) return Effect.succeed([])
      answerEarly(last)
      return Effect.flatMap(moreBeforeNextTurn, (arrived) =>
        arrived.length === 0 ? Effect.succeed(arrived) : Effect.flatMap(nextStep(arrived, last.batch), (next) => {
          if (next === undefined) return Effect.succeed(arrived)
          steps.push(next)
          return grow(steps, nextStep)
        }))
    })

  /**
   * A transaction's end: committed, each step's runs are remembered, its events published and its requests answered
   * (those not answered early); when the commit failed, those requests fail with the reason.
   */
  const finish = (steps: ReadonlyArray<Step>, failure: Cause.Cause<unknown> | undefined) => {
    if (failure !== undefined) {
      const message = `Could not apply the proposal: ${describeCause(failure)}`
      for (const step of steps) if (!step.early) for (const r of step.requests) r.reply.complete(Exit.fail(new OrchestrationFailed({ message })))
      return
    }
    for (const step of steps) {
      settleSlots(step)
      bus.publishNow(bookCommitted(step.batch, step.results))
      if (!step.early) for (let i = 0; i < step.requests.length; i++) replyNow(step.requests[i]!, step.results.out[i]!)
    }
  }

  /** A step after the first of an open transaction: undone alone (to its savepoint) when it fails. */
  const savepointed = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | SqlError> =>
    Effect.zipRight(store.sql`SAVEPOINT orion_step`, Effect.matchEffect(effect, {
      onFailure: (e) => Effect.zipRight(Effect.zipRight(store.sql`ROLLBACK TO SAVEPOINT orion_step`, store.sql`RELEASE SAVEPOINT orion_step`), Effect.fail(e)),
      onSuccess: (a) => Effect.as(store.sql`RELEASE SAVEPOINT orion_step`, a)
    }))

  /**
   * Runs `requests` in one transaction through Effects, grown as `grow` says. Fails, with nothing answered, when the
   * first batch or the commit failed before any early answer (`commit` then retries); after one, a failed commit is
   * every later request's answer. Sequenced on the bus, so this process commits and publishes events in id order.
   */
  const runBatch = (requests: ReadonlyArray<Request>, throughEffects: boolean): Effect.Effect<void, StaleRun | SqlError> => {
    const steps: Array<Step> = []
    let leftover: ReadonlyArray<Request> = []
    const step = (rs: ReadonlyArray<Request>, parent: Batch | undefined) =>
      Effect.flatMap(Clock.currentTimeMillis, (millis) => {
        const batch = new Batch(env, new Date(millis), parent, throughEffects ? store.effectWriter : undefined)
        return Effect.map(batchWork(batch, rs), (results): Step => ({ batch, requests: rs, results, early: false }))
      })
    const span = Effect.flatMap(step(requests, undefined), (first) => {
      steps.push(first)
      return Effect.map(
        grow(steps, (rs, parent) => Effect.map(Effect.either(savepointed(step(rs, parent))), (e) => (e._tag === "Right" ? e.right : undefined))),
        (rest) => void (leftover = rest)
      )
    })
    const transaction = Effect.uninterruptible(bus.sequenced(Effect.ensuring(Effect.matchCauseEffect(store.withTransaction(span), {
      onSuccess: () => Effect.sync(() => finish(steps, undefined)),
      onFailure: (cause) => (steps.length === 0 || !steps[0]!.early ? Effect.failCause(cause) : Effect.sync(() => finish(steps, cause)))
    }), Effect.sync(settle))))
    return Effect.zipRight(transaction, Effect.suspend(() => (leftover.length > 0 ? commit(leftover) : Effect.void)))
  }

  /**
   * A transaction this writer drives itself, its steps run synchronously (`batchSync`): on SQLite, where each statement
   * answers at once; on PostgreSQL, a pipelined one, where a step's answers arrive together when it settles. Undefined
   * when there is none to be had now (the SQLite connection is held elsewhere, the pipelining connection failed).
   */
  const openDriven: (() => Effect.Effect<DrivenTransaction | undefined>) | null = (() => {
    const { nowWriter, openNow, openPipelined } = store
    if (nowWriter !== null && openNow !== null) {
      return () => Effect.sync(() => {
        const tx = openNow()
        return tx === undefined ? undefined : {
          writer: nowWriter, inTransaction: tx.inTransaction, step: tx.step, settle: undefined,
          commit: Effect.sync(() => tx.commit()), rollback: Effect.sync(() => tx.rollback())
        }
      })
    }
    if (openPipelined !== null) {
      return () => Effect.match(openPipelined(), {
        onFailure: () => undefined,
        onSuccess: (tx): DrivenTransaction => ({ ...tx, writer: pipelinedWriter(tx) })
      })
    }
    return null
  })()

  /**
   * The same as `runBatch`, as synchronous steps of one driven transaction (`openDriven`), when neither the
   * transaction nor the event order is held elsewhere (the common case): `runBatch` takes ~120 Effect steps per batch
   * for the same. False, with nothing done, when it could not begin or its first step failed: the caller then goes
   * through `commit`, which waits its turn, retries and reports.
   */
  const commitNow = (requests: ReadonlyArray<Request>, runtime: Runtime.Runtime<never>, clock: Clock.Clock): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      if (openDriven === null) return Effect.succeed(false)
      const releaseOrder = bus.holdNow()
      if (releaseOrder === undefined) return Effect.succeed(false)
      let leftover: ReadonlyArray<Request> = []
      // Uninterruptible: a writer being stopped still commits what it has answered (its waits end at the next turn).
      const transaction = Effect.uninterruptible(Effect.flatMap(openDriven(), (tx) => {
        if (tx === undefined) {
          releaseOrder()
          return Effect.succeed(false)
        }
        /** A step's work, done now; its writes are sent (PostgreSQL) or done (SQLite). */
        const stepNow = (rs: ReadonlyArray<Request>, parent: Batch | undefined): Step | undefined => {
          const batch = new Batch(env, new Date(clock.unsafeCurrentTimeMillis()), parent, tx.writer)
          const exit = tx.step(() =>
            batchSync(tx.writer, batch, rs, Runtime.make({
              context: Context.add(Context.merge(runtime.context, tx.inTransaction), OrchestrationStore, batch.orchestrationStore),
              runtimeFlags: runtime.runtimeFlags,
              fiberRefs: runtime.fiberRefs
            })))
          return Exit.isFailure(exit) ? undefined : { batch, requests: rs, results: exit.value, early: false }
        }
        const settled = (step: Step | undefined): Effect.Effect<Step | undefined> =>
          step === undefined || tx.settle === undefined ? Effect.succeed(step) : Effect.map(tx.settle, (s) => (Exit.isSuccess(s) ? step : undefined))
        const released = Effect.sync(() => {
          releaseOrder()
          settle()
        })
        const first = stepNow(requests, undefined)
        if (first === undefined) return Effect.as(Effect.ensuring(tx.rollback, released), false)
        const steps: Array<Step> = [first]
        if (tx.settle !== undefined && !answersEarly(first)) {
          // PostgreSQL, a transaction of one step: its COMMIT follows its writes at once. Had one failed, PostgreSQL
          // rolled it all back, nothing was answered, and `commit` does the batch again.
          return Effect.ensuring(Effect.flatMap(tx.commit, (committed) => Exit.isFailure(committed) ? Effect.succeed(false) : Effect.sync(() => {
            finish(steps, undefined)
            return true
          })), released)
        }
        return Effect.flatMap(settled(first), (settledFirst) => {
          if (settledFirst === undefined) return Effect.as(Effect.ensuring(tx.rollback, released), false)
          const end = Effect.ensuring(
            Effect.flatMap(tx.commit, (committed) => Effect.sync(() => finish(steps, Exit.isFailure(committed) ? committed.cause : undefined))),
            released
          )
          const span = Effect.map(grow(steps, (rs, parent) => settled(stepNow(rs, parent))), (rest) => void (leftover = rest))
          return Effect.as(Effect.ensuring(span, end), true)
        })
      }))
      return Effect.tap(transaction, () => (leftover.length > 0 ? commit(leftover) : Effect.void))
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
          cache.forget((failure.value as StaleRun).id)
          continue
        }
        // Another process holds SQLite's write lock or committed under our read snapshot: start over shortly.
        if (/SQLITE_BUSY|database is locked/i.test(describeCause(exit.cause))) {
          for (const r of requests) if (r._tag === "Propose") cache.forget(r.id)
          yield* Effect.sleep(`${5 * (attempt + 1)} millis`)
          continue
        }
        if (requests.length > 1) return yield* Effect.forEach(requests, (r) => commit([r]), { discard: true })
        const r = requests[0]!
        if (r._tag === "Create") {
          const missing = yield* missingReference(store.sql, r.kind, r.payload as FlowRunCreate & TaskRunCreate)
          if (missing) return yield* Effect.sync(() => r.reply.complete(Exit.fail(missing)))
        }
        return yield* failAll(requests, `Could not apply the proposal: ${describeCause(exit.cause)}`)
      }
      return yield* failAll(requests, "Could not apply the proposal: the run kept changing under concurrent writers")
    })

  return {
    commitNow,
    commit,
    /** Waits until every transition already answered is committed (see `answerBeforeCommit`). */
    committed: Effect.suspend(() => uncommitted?.await ?? Effect.void)
  }
}
