/** Opens the metadata database named by a URL (SQLite file or PostgreSQL), sets it up once and migrates it forward. */
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Cause, Context, Data, Effect, Layer } from "effect"
import type { PgClientFromPoolOptions } from "@effect/sql-pg/PgClient"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { databaseUrl } from "../settings.js"
import { makeDirectorySync } from "./directories.js"
import { migrations } from "./migrations.js"
import { PgPipelinePool, type PgPool as PipelinePool } from "./pg-pipeline.js"
import { layer as SqliteLayer } from "./sqlite-client.js"

export type Dialect = "sqlite" | "pg"

/** Which database we are on; queries that differ by dialect read this. */
export class Database extends Context.Tag("orion/Database")<Database, {
  readonly dialect: Dialect
  /** The URL with any password masked, for messages. */
  readonly url: string
}>() {}

/** The database could not be opened or migrated. */
export class DatabaseError extends Data.TaggedError("DatabaseError")<{ readonly url: string; readonly reason: string }> {
  override get message() {
    return `Cannot open the Orion database at ${this.url}: ${this.reason}`
  }
}

export interface ParsedUrl {
  readonly dialect: Dialect
  /** For SQLite: the file path or ":memory:"; for pg: the URL. */
  readonly target: string
  readonly masked: string
}

/** Reads a database URL: `postgres://` / `postgresql://` → pg; `sqlite:`, `file:` or a plain path → SQLite. */
export const parseDatabaseUrl = (url: string): ParsedUrl => {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    return { dialect: "pg", target: url, masked: url.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@") }
  }
  const file = url.replace(/^sqlite(\+\w+)?:(\/\/)?/i, "").replace(/^file:(\/\/)?/i, "")
  const target = file === ":memory:" || file === "" ? ":memory:" : path.resolve(file)
  return { dialect: "sqlite", target, masked: target }
}

/** The messages of an error and its chain of causes, outermost first, without repeats. */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const parts: Array<string> = []
  let e: any = Cause.squash(cause)
  for (let depth = 0; e != null && depth < 6; depth++, e = e.cause) {
    const m = String(e.message ?? e).trim()
    if (m && !parts.some((p) => p.includes(m))) parts.push(m)
  }
  return parts.join(": ")
}

/**
 * Creates a SQLite file's folder (0700) and the file itself (0600) when they do not exist yet, so that only their owner
 * can read them; SQLite gives its `-wal` and `-shm` files the database file's permissions. Existing ones are left as they are.
 */
const createPrivately = (file: string) => {
  makeDirectorySync(path.dirname(file))
  fs.closeSync(fs.openSync(file, "a", 0o600))
}

const sqlitePragmas = Layer.effectDiscard(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`PRAGMA foreign_keys = ON`
  yield* sql`PRAGMA synchronous = NORMAL`
  yield* sql`PRAGMA busy_timeout = 60000`
}))

/** The newest migration Orion has. */
const latestMigration = Math.max(...Object.keys(migrations).map((name) => Number.parseInt(name, 10)))

/** Whether the database has every migration already (a missing table, or any failure to read it: no). */
const isCurrent = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ readonly id: unknown }>`SELECT max(migration_id) AS id FROM effect_sql_migrations`.pipe(
    Effect.map((rows) => Number(rows[0]?.id ?? 0) >= latestMigration),
    Effect.orElseSucceed(() => false)
  ))

/**
 * Migrates the database when it is behind. The migrator, and the modules it needs, load only then: a process opening
 * a database that is up to date (every script after the first) pays for one query instead.
 */
const migrateIfBehind = <R>(migrator: () => Promise<Layer.Layer<never, unknown, R>>): Layer.Layer<never, unknown, R | SqlClient.SqlClient> =>
  Layer.unwrapEffect(Effect.flatMap(isCurrent, (current) =>
    current ? Effect.succeed(Layer.empty as Layer.Layer<never, unknown, R>) : Effect.promise(migrator)))

const sqliteMigrator = async () => {
  const [SqliteMigrator, NodeContext] = await Promise.all([import("@effect/sql-sqlite-node/SqliteMigrator"), import("@effect/platform-node/NodeContext")])
  return SqliteMigrator.layer({ loader: SqliteMigrator.fromRecord(migrations) }).pipe(Layer.provide(NodeContext.layer))
}

const sqliteLayer = (u: ParsedUrl) =>
  Layer.mergeAll(migrateIfBehind(sqliteMigrator), Layer.succeed(Database, { dialect: "sqlite", url: u.masked })).pipe(
    Layer.provideMerge(sqlitePragmas),
    Layer.provideMerge(Layer.unwrapEffect(Effect.sync(() => {
      if (u.target !== ":memory:") createPrivately(u.target)
      return SqliteLayer(u.target)
    })))
  )

/** The part of `pg` (which ships no types) that Orion uses: its pool, as @effect/sql-pg takes it. */
type PgPool = Effect.Effect.Success<PgClientFromPoolOptions["acquire"]>
interface PgModule {
  readonly Pool: new (options: Record<string, unknown>) => PgPool & PipelinePool
}

/** PostgreSQL's driver is loaded only when a `postgres://` URL asks for it: a SQLite process never pays for it. */
const pgLayer = (u: ParsedUrl, maxConnections: number) =>
  Layer.unwrapEffect(Effect.promise(async () => {
    const PgClient = await import("@effect/sql-pg/PgClient")
    const Pg = createRequire(import.meta.url)("pg") as PgModule
    // Our own pool, to let idle connections not hold the process open: a script exits when its work is done rather
    // than when the pool's idle timeout (10 s) closes them.
    const acquire = Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const pool = new Pg.Pool({ connectionString: u.target, max: maxConnections, connectionTimeoutMillis: 10_000, application_name: "orion", allowExitOnIdle: true })
          pool.on("error", () => {})
          await pool.query("SELECT 1").catch(async (cause: unknown) => {
            await pool.end().catch(() => {})
            throw cause
          })
          return pool
        },
        catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
    )
    const pgMigrator = async () => {
      const [PgMigrator, NodeContext] = await Promise.all([import("@effect/sql-pg/PgMigrator"), import("@effect/platform-node/NodeContext")])
      return PgMigrator.layer({ loader: PgMigrator.fromRecord(migrations) }).pipe(Layer.provide(NodeContext.layer))
    }
    // The orchestrator's transactions, pipelined (src/storage/pg-pipeline.ts): one connection of their own.
    const pipelinePool = Layer.scoped(PgPipelinePool, Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new Pg.Pool({ connectionString: u.target, max: 1, pipeline: true, connectionTimeoutMillis: 10_000, application_name: "orion", allowExitOnIdle: true })
        pool.on("error", () => {})
        return pool
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
    ))
    return Layer.mergeAll(migrateIfBehind(pgMigrator), Layer.succeed(Database, { dialect: "pg", url: u.masked }), pipelinePool).pipe(
      Layer.provideMerge(PgClient.layerFromPool({ acquire, applicationName: "orion" }))
    )
  }))

/** The database at `url`, migrated to the latest schema; failures become one clear `DatabaseError`. */
export const layerFromUrl = (url: string, options: { readonly maxConnections?: number } = {}) => {
  const u = parseDatabaseUrl(url)
  // On SQLite the layer also carries the raw `SqliteConnection`, found with `Effect.serviceOption` by the hot path.
  const layer: Layer.Layer<Database | SqlClient.SqlClient, unknown> = u.dialect === "pg" ? pgLayer(u, options.maxConnections ?? 10) : sqliteLayer(u)
  return layer.pipe(Layer.catchAllCause((cause) => Layer.fail(new DatabaseError({ url: u.masked, reason: describeCause(cause) }))))
}

/** The database named by `ORION_DATABASE_URL` (default `$ORION_HOME/orion.db`). */
export const layer = Layer.unwrapEffect(Effect.map(databaseUrl, (url) => layerFromUrl(url)))

/** Orion's tables, dependents first, and the migrator's own. */
const orionTables = [
  "event", "decision_without_state", "log", "concurrency_limit", "saved_search", "task_run_state_cache", "task_run_state",
  "flow_run_state", "task_run", "flow_run", "deployment", "flow", "effect_sql_migrations"
] as const

/**
 * Drops Orion's tables (and only those) from the open database: every flow, run, state and log is deleted.
 * Opening the database again (`layerFromUrl`) re-applies the migrations.
 */
export const dropAll = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { dialect } = yield* Database
  if (dialect === "sqlite") yield* sql`PRAGMA foreign_keys = OFF`
  // The view over the decisions (migration 0003) goes first: SQLite would keep it, dangling, past its tables.
  yield* sql`DROP VIEW IF EXISTS decision`
  for (const table of orionTables) {
    yield* dialect === "pg" ? sql`DROP TABLE IF EXISTS ${sql(table)} CASCADE` : sql`DROP TABLE IF EXISTS ${sql(table)}`
  }
  // The event table's notify trigger went with it; its function (migration 0005) is dropped too.
  if (dialect === "pg") yield* sql`DROP FUNCTION IF EXISTS orion_event_notify() CASCADE`
  if (dialect === "sqlite") yield* sql`PRAGMA foreign_keys = ON`
})

/** Empties the database at `url` and migrates it afresh. */
export const resetAt = (url: string) =>
  Effect.zipRight(Effect.provide(dropAll, layerFromUrl(url)), Effect.provide(Effect.void, layerFromUrl(url)))
