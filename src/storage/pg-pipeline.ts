/**
 * The orchestrator's PostgreSQL transactions as pipelines: a step's statements are sent one after the other without
 * waiting for each answer (pg's pipeline mode), and their answers are checked together when the step settles — one
 * round trip a step instead of one a statement. On a pool of its own (one connection), made with the database's.
 */
import * as Client from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Exit, Stream } from "effect"

/** A pg result, as much of it as is read here. */
export interface PgResult {
  readonly command: string
  readonly rows: ReadonlyArray<Record<string, unknown>>
}

/** The part of a pg pool client used here (pg ships no types). */
interface PgPoolClient {
  query(text: string, values?: ReadonlyArray<unknown>): Promise<PgResult>
  query(config: { readonly name: string; readonly text: string; readonly values: ReadonlyArray<unknown> }): Promise<PgResult>
  /** Its socket: corked while a step sends, so that the step's statements leave in one write. */
  readonly connection: { readonly stream: { cork(): void; uncork(): void } }
  /** Back to the pool; `true` (or an error) closes the connection instead. */
  release(destroy?: boolean | Error): void
}

/** The part of a pg pool used here. */
export interface PgPool {
  connect(): Promise<PgPoolClient>
  end(): Promise<void>
}

/** The orchestrator's pipelining pool, on PostgreSQL (see database.ts). */
export class PgPipelinePool extends Context.Tag("orion/PgPipelinePool")<PgPipelinePool, PgPool>() {}

/** Where writes are sent: at once, each answer judged by `check` (which throws to fail the step) when it arrives. */
export interface Pipeline {
  readonly send: (text: string, params: ReadonlyArray<unknown>, check?: (result: PgResult) => void) => void
}

/**
 * A query a pipelined step cannot make: its steps run synchronously, and a query's answer would have to be waited for.
 * Thrown (a defect) by every SQL client query inside such a step; the orchestrator then does the batch through Effects.
 */
export class PipelinedStepCannotWait extends Error {
  constructor() {
    super("A pipelined step cannot wait for a query's answer")
  }
}

const cannotWait = Effect.dieSync(() => new PipelinedStepCannotWait())
/** The SQL client's connection inside a pipelined step: every query is a `PipelinedStepCannotWait` defect. */
const refusingConnection: Connection = {
  execute: () => cannotWait,
  executeRaw: () => cannotWait,
  executeStream: () => Stream.die(new PipelinedStepCannotWait()),
  executeValues: () => cannotWait,
  executeUnprepared: () => cannotWait
}
const inPipelinedStep = Context.make(Client.TransactionConnection, [refusingConnection, 0] as const)

/**
 * A transaction held open by the orchestrator on a pipelining connection: synchronous steps that send their writes
 * (`step`), each then settled (`settle`), then commit or roll back, which gives the connection back.
 */
export interface PipelinedTransaction extends Pipeline {
  /** Where SQL client queries run inside a step: nowhere — each is a `PipelinedStepCannotWait` defect. */
  readonly inTransaction: Context.Context<Client.TransactionConnection>
  /**
   * Runs `work`, which sends its writes, as one step: after the first, behind a savepoint. A step whose work failed
   * is undone (to its savepoint; the first step's failure calls for `rollback`).
   */
  readonly step: <A, E>(work: () => Exit.Exit<A, E>) => Exit.Exit<A, E>
  /**
   * Waits for the answers to what the last step sent. A failed statement or check fails it, and the step is undone
   * as above; its savepoint is released otherwise.
   */
  readonly settle: Effect.Effect<Exit.Exit<void, SqlError>>
  /** Commits (a COMMIT that PostgreSQL turned into a ROLLBACK fails) and gives the connection back. */
  readonly commit: Effect.Effect<Exit.Exit<void, SqlError>>
  /** Rolls back and gives the connection back. */
  readonly rollback: Effect.Effect<void>
}

/**
 * The orchestrator's statements are few (an INSERT per table and row count, an UPDATE per set of changed columns) and
 * run on connections of their own: each (but BEGIN, COMMIT and the like) is prepared once per connection (a named statement), not parsed and planned
 * at every use. Beyond `maxNamed` distinct texts, the rest go unnamed.
 */
const names = new Map<string, string>()
const maxNamed = 1_000
const statementName = (text: string): string | undefined => {
  let name = names.get(text)
  if (name === undefined && names.size < maxNamed) names.set(text, name = `orion_${names.size}`)
  return name
}

/** PostgreSQL ended a transaction otherwise than asked: a COMMIT of a transaction a statement had failed is a ROLLBACK. */
class TransactionHadFailed extends Error {
  constructor(answered: string, asked: string) {
    super(`PostgreSQL answered ${answered} to ${asked}: a statement of the transaction had failed`)
  }
}

/** A statement's outcome, as awaited: never a rejection, so a statement nobody waits for cannot go unhandled. */
type Answer = { readonly ok: true } | { readonly ok: false; readonly cause: unknown }

/** Takes a connection of `pool` for a transaction (its BEGIN is sent with the first step's statements). */
export const openPipelined = (pool: PgPool): Effect.Effect<PipelinedTransaction, SqlError> =>
  Effect.map(
    Effect.tryPromise({ try: () => pool.connect(), catch: (cause) => new SqlError({ cause, message: "Failed to acquire a connection" }) }),
    (client) => {
      let sent: Array<Promise<Answer>> = []
      let steps = 0
      let open = true
      /** A settled step's savepoint, released with whatever is sent next (it needs no answer of its own). */
      let releaseDue = false
      const releaseIfDue = () => {
        if (releaseDue) send("RELEASE SAVEPOINT orion_step", [])
        releaseDue = false
      }
      const send = (text: string, params: ReadonlyArray<unknown>, check?: (result: PgResult) => void) => {
        const name = params.length === 0 ? undefined : statementName(text)
        sent.push((name === undefined ? client.query(text, params) : client.query({ name, text, values: params })).then(
          (result): Answer => {
            if (check === undefined) return { ok: true }
            try {
              check(result)
              return { ok: true }
            } catch (cause) {
              return { ok: false, cause }
            }
          },
          (cause): Answer => ({ ok: false, cause })
        ))
      }
      /** The first failure among the answers to everything sent so far. */
      const answers = Effect.promise(async () => {
        const waiting = sent
        sent = []
        for (const answer of await Promise.all(waiting)) if (!answer.ok) return answer
        return undefined
      })
      const undoStep = () => {
        if (steps === 1) return
        send("ROLLBACK TO SAVEPOINT orion_step", [])
        releaseDue = true
      }
      /** Ends the transaction with `text`: a COMMIT fails if anything sent in it failed; a ROLLBACK only if it did itself. */
      const end = (text: "COMMIT" | "ROLLBACK") =>
        Effect.suspend(() => {
          if (!open) return Effect.succeed(Exit.void)
          open = false
          let ended: Answer = { ok: false, cause: new Error(`${text} was not answered`) }
          releaseDue = false // the transaction's end releases every savepoint
          send(text, [], (r) => {
            if (r.command !== text) throw new TransactionHadFailed(r.command, text)
          })
          sent[sent.length - 1] = sent[sent.length - 1]!.then((answer) => (ended = answer))
          return Effect.map(answers, (failure): Exit.Exit<void, SqlError> => {
            // A connection whose COMMIT or ROLLBACK was not answered is closed rather than given back in doubt.
            client.release(!ended.ok && !(ended.cause instanceof TransactionHadFailed))
            const failed = text === "COMMIT" ? failure : ended.ok ? undefined : ended
            return failed === undefined ? Exit.void : Exit.fail(new SqlError({ cause: failed.cause, message: text === "COMMIT" ? "Failed to commit" : "Failed to roll back" }))
          })
        })
      return {
        send,
        inTransaction: inPipelinedStep,
        step: <A, E>(work: () => Exit.Exit<A, E>): Exit.Exit<A, E> => {
          const socket = client.connection.stream
          socket.cork()
          releaseIfDue()
          send(steps++ === 0 ? "BEGIN" : "SAVEPOINT orion_step", [])
          const first = sent.length
          let exit: Exit.Exit<A, E>
          try {
            exit = work()
          } catch (cause) {
            exit = Exit.die(cause)
          } finally {
            socket.uncork()
          }
          if (Exit.isFailure(exit)) {
            // What the failed work sent is undone with it: its answers no longer matter.
            for (let i = first; i < sent.length; i++) sent[i] = sent[i]!.then((): Answer => ({ ok: true }))
            undoStep()
          }
          return exit
        },
        settle: Effect.map(answers, (failure): Exit.Exit<void, SqlError> => {
          if (failure === undefined) {
            releaseDue = steps > 1
            return Exit.void
          }
          undoStep()
          return Exit.fail(new SqlError({ cause: failure.cause, message: "Failed to execute statement" }))
        }),
        commit: end("COMMIT"),
        rollback: Effect.asVoid(end("ROLLBACK"))
      }
    }
  )
