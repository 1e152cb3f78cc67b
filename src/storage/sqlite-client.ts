/**
 * Orion's SQLite client: `@effect/sql`'s client over one better-sqlite3 connection (as `@effect/sql-sqlite-node`
 * builds it), which also hands the orchestrator that connection, so its hot path can run prepared statements
 * directly inside the transaction it holds — and which begins write transactions IMMEDIATE, so a transaction
 * never has to upgrade its lock when another process wrote first.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Client from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import Sqlite from "better-sqlite3"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { Permits } from "../../runtime/internal/permits.js"
import * as Checkpointer from "./sqlite-checkpointer.js"

/** A better-sqlite3 connection (named here so that declaration files can refer to it). */
export interface RawSqliteDatabase extends Sqlite.Database {}

/** The raw connection. Use it only inside `sql.withTransaction`, which holds it for the calling fiber. */
export class SqliteConnection extends Context.Tag("orion/SqliteConnection")<SqliteConnection, RawSqliteDatabase>() {}

/**
 * `sql.withTransaction` for one hot caller (the orchestrator's writer, a transaction per batch): the same lock, the
 * same BEGIN IMMEDIATE … COMMIT (ROLLBACK on failure or interruption), and statements inside it run on the held
 * connection as with `sql.withTransaction` — without a tracing span and a scope per transaction.
 */
export class SqliteTransactions extends Context.Tag("orion/SqliteTransactions")<SqliteTransactions, {
  readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  /**
   * Begins a write transaction now and holds the connection until it ends, across waits, for work done in synchronous
   * steps (see `OpenTransaction`). Undefined, with nothing begun, when a fiber holds the connection
   * or another process holds the database's write lock.
   */
  readonly openNow: () => OpenTransaction | undefined
}>() {}

/**
 * A write transaction held open by one caller: run synchronous steps on the connection (each may be undone alone, as
 * a savepoint), then commit or roll back, which gives the connection back.
 */
export interface OpenTransaction {
  /** Where SQL client queries run inside this transaction. */
  readonly inTransaction: Context.Context<Client.TransactionConnection>
  /**
   * Runs `work` as one step: as part of the transaction if it succeeds; undone alone (ROLLBACK TO its savepoint) if
   * it fails, leaving earlier steps in place. The first step needs no savepoint: its failure rolls back everything.
   */
  readonly step: <A, E>(work: () => Exit.Exit<A, E>) => Exit.Exit<A, E | SqlError>
  /** Commits and gives the connection back; a failed COMMIT rolls back. */
  readonly commit: () => Exit.Exit<void, SqlError>
  /** Rolls back and gives the connection back. */
  readonly rollback: () => void
}

const make = (filename: string) =>
  Effect.gen(function*() {
    const db = new Sqlite(filename)
    yield* Effect.addFinalizer(() => Effect.sync(() => db.close()))
    db.pragma("journal_mode = WAL")
    if (filename !== ":memory:" && filename !== "") {
      db.pragma(`wal_autocheckpoint = ${Checkpointer.safetyNetPages}`)
      yield* Checkpointer.start(filename, 250, Checkpointer.startAfterMs)
    }

    // Prepared statements by SQL text, most recently used last: a plain map, since a lookup happens for every
    // statement (BEGIN and COMMIT included) and an Effect cache costs more than the statement it saves.
    const statements = new Map<string, Sqlite.Statement>()
    const prepare = (sql: string): Sqlite.Statement => {
      let statement = statements.get(sql)
      if (statement !== undefined) {
        statements.delete(sql)
      } else {
        statement = db.prepare(sql)
        if (statements.size >= 500) statements.delete(statements.keys().next().value!)
      }
      statements.set(sql, statement)
      return statement
    }
    const prepared = {
      get: (sql: string) => Effect.try({ try: () => prepare(sql), catch: (cause) => new SqlError({ cause, message: "Failed to prepare statement" }) })
    }
    /** Prepares (or reuses) and runs one statement, in one step. */
    const run = (sql: string, params: ReadonlyArray<unknown>, raw = false) =>
      Effect.try({
        try: () => {
          let statement: Sqlite.Statement
          try {
            statement = prepare(sql)
          } catch (cause) {
            throw new SqlError({ cause, message: "Failed to prepare statement" })
          }
          return statement.reader ? statement.all(...params) : raw ? (statement.run(...params) as unknown as ReadonlyArray<any>) : (statement.run(...params), [])
        },
        catch: (cause) => cause instanceof SqlError ? cause : new SqlError({ cause, message: "Failed to execute statement" })
      })

    const connection: Connection = {
      execute: (sql, params, transformRows) => (transformRows ? Effect.map(run(sql, params), transformRows) : run(sql, params)),
      executeRaw: (sql, params) => run(sql, params, true),
      executeValues: (sql, params) =>
        Effect.acquireUseRelease(
          prepared.get(sql),
          (s) => Effect.try({
            try: () => (s.reader ? (s.raw(true).all(...params) as ReadonlyArray<ReadonlyArray<unknown>>) : (s.run(...params), [])),
            catch: (cause) => new SqlError({ cause, message: "Failed to execute statement" })
          }),
          (s) => Effect.sync(() => s.reader && s.raw(false))
        ),
      // BEGIN/COMMIT arrive here on every transaction: serve them from the statement cache too.
      executeUnprepared: (sql, params, transformRows) =>
        transformRows ? Effect.map(run(sql, params ?? []), transformRows) : run(sql, params ?? []),
      executeStream: () => Effect.dieMessage("executeStream is not implemented for SQLite")
    }

    // One holder of the connection at a time: a statement outside a transaction waits for a transaction to end.
    const lock = new Permits(1)
    const acquirer = lock.withPermit(Effect.succeed(connection))
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(restore(lock.take), Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, Effect.sync(() => lock.release())))),
        connection
      ))
    const client = yield* Client.make({
      acquirer,
      transactionAcquirer,
      compiler: Statement.makeCompilerSqlite(),
      spanAttributes: [["db.system.name", "sqlite"]],
      beginTransaction: "BEGIN IMMEDIATE"
    })
    const begin = run("BEGIN IMMEDIATE", [])
    const commit = run("COMMIT", [])
    const rollback = Effect.orDie(run("ROLLBACK", []))
    /** Where SQL client queries run inside a transaction: on the connection it holds. */
    const inTransaction = Context.make(Client.TransactionConnection, [connection, 0] as const)
    const withTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(lock.take),
          Effect.ensuring(
            Effect.zipRight(
              begin,
              Effect.onExit(restore(Effect.provide(effect, inTransaction)), (exit) =>
                exit._tag === "Success" ? Effect.orDie(commit) : rollback)
            ),
            Effect.sync(() => lock.release())
          )
        ))
    const openNow = (): OpenTransaction | undefined => {
      if (!lock.tryTake()) return undefined
      try {
        prepare("BEGIN IMMEDIATE").run()
      } catch (cause) {
        lock.release()
        // Busy: another process writes. Anything else surfaces on the caller's slower path, which begins again.
        return undefined
      }
      let steps = 0
      let open = true
      const end = (sql: "COMMIT" | "ROLLBACK"): Exit.Exit<void, SqlError> => {
        if (!open) return Exit.void
        open = false
        try {
          prepare(sql).run()
          return Exit.void
        } catch (cause) {
          if (db.inTransaction) prepare("ROLLBACK").run()
          return Exit.fail(new SqlError({ cause, message: sql === "COMMIT" ? "Failed to commit" : "Failed to roll back" }))
        } finally {
          lock.release()
        }
      }
      return {
        inTransaction,
        step: <A, E>(work: () => Exit.Exit<A, E>): Exit.Exit<A, E | SqlError> => {
          const savepoint = steps++ > 0
          if (savepoint) prepare("SAVEPOINT orion_step").run()
          let exit: Exit.Exit<A, E | SqlError>
          try {
            exit = work()
          } catch (cause) {
            exit = Exit.die(cause)
          }
          if (savepoint) {
            if (Exit.isFailure(exit)) prepare("ROLLBACK TO orion_step").run()
            prepare("RELEASE orion_step").run()
          }
          return exit
        },
        commit: () => end("COMMIT"),
        rollback: () => void end("ROLLBACK")
      }
    }
    const unsupported = Effect.dieMessage("not supported by Orion's SQLite client")
    const sqliteClient = Object.assign(client, {
      [SqliteClient.TypeId]: SqliteClient.TypeId,
      config: { filename },
      export: unsupported,
      backup: () => unsupported,
      loadExtension: () => unsupported
    }) as unknown as SqliteClient.SqliteClient
    return { client: sqliteClient, db, transactions: SqliteTransactions.of({ withTransaction, openNow }) }
  })

/** SQLite's "database is locked" (another connection holds the write lock). */
const isBusy = (cause: unknown) => (cause as { code?: unknown })?.code === "SQLITE_BUSY" || /database is locked/i.test(String(cause))

/** A SQLite database file (or ":memory:") as `SqlClient`, `SqliteClient` and `SqliteConnection`. */
export const layer = (filename: string): Layer.Layer<Client.SqlClient | SqliteClient.SqliteClient | SqliteConnection | SqliteTransactions> =>
  Layer.scopedContext(Effect.map(make(filename), ({ client, db, transactions }) =>
    Context.make(SqliteClient.SqliteClient, client).pipe(
      Context.add(Client.SqlClient, client),
      Context.add(SqliteConnection, db),
      Context.add(SqliteTransactions, transactions)
    ))).pipe(Layer.provide(Reactivity.layer))
