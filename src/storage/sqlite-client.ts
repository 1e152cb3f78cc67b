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
import { SqliteClient } from "@effect/sql-sqlite-node"
import Sqlite from "better-sqlite3"
import { Cache, Context, Duration, Effect, Layer, Scope } from "effect"
import * as Checkpointer from "./sqlite-checkpointer.js"

/** The raw connection. Use it only inside `sql.withTransaction`, which holds it for the calling fiber. */
export class SqliteConnection extends Context.Tag("orion/SqliteConnection")<SqliteConnection, Sqlite.Database>() {}

const make = (filename: string) =>
  Effect.gen(function*() {
    const db = new Sqlite(filename)
    yield* Effect.addFinalizer(() => Effect.sync(() => db.close()))
    db.pragma("journal_mode = WAL")
    if (filename !== ":memory:" && filename !== "") {
      db.pragma(`wal_autocheckpoint = ${Checkpointer.safetyNetPages}`)
      yield* Checkpointer.start(filename)
    }

    const prepared = yield* Cache.make({
      capacity: 500,
      timeToLive: Duration.minutes(10),
      lookup: (sql: string) =>
        Effect.try({ try: () => db.prepare(sql), catch: (cause) => new SqlError({ cause, message: "Failed to prepare statement" }) })
    })
    const execute = (statement: Sqlite.Statement, params: ReadonlyArray<unknown>, raw: boolean) =>
      Effect.try({
        try: () => (statement.reader ? statement.all(...params) : raw ? (statement.run(...params) as unknown as ReadonlyArray<any>) : (statement.run(...params), [])),
        catch: (cause) => new SqlError({ cause, message: "Failed to execute statement" })
      })
    const run = (sql: string, params: ReadonlyArray<unknown>, raw = false) =>
      Effect.flatMap(prepared.get(sql), (s) => execute(s, params, raw))

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

    const semaphore = yield* Effect.makeSemaphore(1)
    const acquirer = semaphore.withPermits(1)(Effect.succeed(connection))
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(restore(semaphore.take(1)), Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, semaphore.release(1)))),
        connection
      ))
    const client = yield* Client.make({
      acquirer,
      transactionAcquirer,
      compiler: Statement.makeCompilerSqlite(),
      spanAttributes: [["db.system.name", "sqlite"]],
      beginTransaction: "BEGIN IMMEDIATE"
    })
    const unsupported = Effect.dieMessage("not supported by Orion's SQLite client")
    const sqliteClient = Object.assign(client, {
      [SqliteClient.TypeId]: SqliteClient.TypeId,
      config: { filename },
      export: unsupported,
      backup: () => unsupported,
      loadExtension: () => unsupported
    }) as unknown as SqliteClient.SqliteClient
    return { client: sqliteClient, db }
  })

/** A SQLite database file (or ":memory:") as `SqlClient`, `SqliteClient` and `SqliteConnection`. */
export const layer = (filename: string): Layer.Layer<Client.SqlClient | SqliteClient.SqliteClient | SqliteConnection> =>
  Layer.scopedContext(Effect.map(make(filename), ({ client, db }) =>
    Context.make(SqliteClient.SqliteClient, client).pipe(
      Context.add(Client.SqlClient, client),
      Context.add(SqliteConnection, db)
    ))).pipe(Layer.provide(Reactivity.layer))
