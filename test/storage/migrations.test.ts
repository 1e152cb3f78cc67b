import { Migrator, SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Database from "../../src/storage/database.js"
import { migrations as allMigrations } from "../../src/storage/migrations.js"
import { RunRepository } from "../../src/storage/repositories/index.js"
import { databases, tempDir } from "../support/databases.js"

describe.each(databases)("migrations on $name", (db) => {
  it.effect("creates every table and records the migration", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ name: string }>`SELECT name FROM effect_sql_migrations`
      expect(rows.map((r) => r.name)).toEqual(["initial", "run_heartbeats", "decisions_on_states", "subflow_parent_exists", "event_notify", "deployment_location", "deployment_run_policies", "partial_indexes"])
      for (const table of ["flow", "flow_run", "task_run", "flow_run_state", "task_run_state", "task_run_state_cache", "deployment", "saved_search", "log", "concurrency_limit", "decision", "decision_without_state", "event"]) {
        const count = yield* sql<{ n: number }>`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM ${sql(table)}`
        expect(Number(count[0]?.n)).toBe(0)
      }
    }).pipe(Effect.provide(db.layer())))

  it.effect("the sparse columns' partial indexes serve the queries on them (the agent's due runs, a deployment's runs, a task run's subflows)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const t = db.name === "pg" ? "2026-12-07T00:00:00Z" : "2026-12-07T00:00:00.000000+00:00"
      const queries = [
        ["ix_flow_run_next_scheduled_start_time", sql`SELECT id FROM flow_run WHERE next_scheduled_start_time <= ${t} ORDER BY next_scheduled_start_time`],
        ["ix_flow_run_deployment_id", sql`SELECT id FROM flow_run AS fr WHERE fr.deployment_id IN ${sql.in(["00000000-0000-4000-8000-000000000001"])}`],
        ["ix_flow_run_parent_task_run_id", sql`SELECT id FROM flow_run WHERE parent_task_run_id = ${"00000000-0000-4000-8000-000000000002"}`],
        ["ix_task_run_next_scheduled_start_time", sql`SELECT id FROM task_run WHERE next_scheduled_start_time < ${t}`]
      ] as const
      for (const [index, query] of queries) {
        const plan = yield* (db.name === "pg"
          // an empty table is scanned whatever its indexes: forbid the scan to see whether the index can serve
          ? sql.withTransaction(Effect.zipRight(sql`SET LOCAL enable_seqscan = off`, sql.unsafe(`EXPLAIN ${query.compile()[0]}`, query.compile()[1] as Array<unknown>)))
          : sql.unsafe(`EXPLAIN QUERY PLAN ${query.compile()[0]}`, query.compile()[1] as Array<unknown>))
        expect(JSON.stringify(plan)).toContain(index)
        const [definition] = yield* (db.name === "pg"
          ? sql<{ def: string }>`SELECT indexdef AS def FROM pg_indexes WHERE indexname = ${index}`
          : sql<{ def: string }>`SELECT sql AS def FROM sqlite_master WHERE name = ${index}`)
        expect(definition!.def).toMatch(/WHERE.*IS NOT NULL/i)
      }
    }).pipe(Effect.provide(db.layer())))
})

/** A fresh database and a plain SQL client on it that applies no migrations: a database as an older Orion left it. */
const freshWithPlainClient = (db: (typeof databases)[number]) =>
  Effect.gen(function*() {
    const { url, lifecycle } = db.fresh()
    yield* Layer.build(lifecycle)
    const old: Layer.Layer<SqlClient.SqlClient, unknown> = db.name === "pg"
      ? PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })
      : SqliteClient.layer({ filename: url })
    return { url, old }
  })

describe.each(databases)("upgrading from 0001 on $name", (db) => {
  it.live("0002 adds a null heartbeat_time to existing runs, keeping them", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url, old } = yield* freshWithPlainClient(db)
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* Migrator.make({})({ loader: Migrator.fromRecord({ "0001_initial": allMigrations["0001_initial"] }) })
        const t = "2021-01-01T00:00:00.000000+00:00"
        yield* sql`INSERT INTO flow (id, created, updated, name, tags) VALUES ('00000000-0000-4000-8000-000000000001', ${t}, ${t}, 'old', '[]')`
        yield* sql`INSERT INTO flow_run (id, created, updated, name, flow_id, parameters, context, empirical_policy, empirical_config, tags, auto_scheduled)
          VALUES ('00000000-0000-4000-8000-000000000002', ${t}, ${t}, 'kept-run', '00000000-0000-4000-8000-000000000001', '{}', '{}',
            '{"max_retries":0,"retry_delay_seconds":0}', '{}', '[]', ${db.name === "pg" ? false : 0})`
      }).pipe(Effect.provide(old))
      const run = yield* Effect.flatMap(RunRepository, (runs) => runs.getFlowRun("00000000-0000-4000-8000-000000000002")).pipe(
        Effect.provide(RunRepository.Default.pipe(Layer.provideMerge(Database.layerFromUrl(url)))))
      expect(run).toMatchObject({ name: "kept-run", heartbeat_time: null })
    })))
})

describe.each(databases)("upgrading from 0002 on $name", (db) => {
  it.live("0003 keeps the decisions made before it, readable with the new ones through the `decision` view", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url, old } = yield* freshWithPlainClient(db)
      const runId = "00000000-0000-4000-8000-000000000002"
      const t = "2021-01-01T00:00:00.000000+00:00"
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* Migrator.make({})({ loader: Migrator.fromRecord({ "0001_initial": allMigrations["0001_initial"], "0002_run_heartbeats": allMigrations["0002_run_heartbeats"] }) })
        yield* sql`INSERT INTO flow (id, created, updated, name, tags) VALUES ('00000000-0000-4000-8000-000000000001', ${t}, ${t}, 'old', '[]')`
        yield* sql`INSERT INTO flow_run (id, created, updated, name, flow_id, parameters, context, empirical_policy, empirical_config, tags, auto_scheduled)
          VALUES (${runId}, ${t}, ${t}, 'kept-run', '00000000-0000-4000-8000-000000000001', '{}', '{}',
            '{"max_retries":0,"retry_delay_seconds":0}', '{}', '[]', ${db.name === "pg" ? false : 0})`
        yield* sql`INSERT INTO flow_run_state (id, flow_run_id, type, name, timestamp, state_details)
          VALUES ('00000000-0000-7000-8000-000000000003', ${runId}, 'PENDING', 'Pending', ${t}, '{}')`
        yield* sql`INSERT INTO decision (id, run_kind, run_id, timestamp, from_type, proposed_type, proposed_name, forced, status, rule, reason, state_id, state_type, state_name, rules)
          VALUES ('00000000-0000-7000-8000-000000000004', 'flow_run', ${runId}, ${t}, NULL, 'PENDING', 'Pending', ${db.name === "pg" ? true : 1},
            'ACCEPT', NULL, NULL, '00000000-0000-7000-8000-000000000003', 'PENDING', 'Pending', '[]')`
      }).pipe(Effect.provide(old))
      const decisions = yield* Effect.flatMap(RunRepository, (runs) => runs.readDecisions("flow_run", runId)).pipe(
        Effect.provide(RunRepository.Default.pipe(Layer.provideMerge(Database.layerFromUrl(url)))))
      expect(decisions).toMatchObject([{ id: "00000000-0000-7000-8000-000000000004", run_kind: "flow_run", run_id: runId, forced: true, status: "ACCEPT", state_id: "00000000-0000-7000-8000-000000000003", rules: [] }])
    })))
})

describe("database URLs", () => {
  it("masks passwords and reads sqlite forms", () => {
    expect(Database.parseDatabaseUrl("postgres://u:secret@h:5432/db").masked).toBe("postgres://u:***@h:5432/db")
    expect(Database.parseDatabaseUrl("sqlite:///tmp/x.db")).toMatchObject({ dialect: "sqlite", target: "/tmp/x.db" })
    expect(Database.parseDatabaseUrl(":memory:").target).toBe(":memory:")
  })

  it.effect("an upgrade keeps existing data", () =>
    Effect.gen(function*() {
      const file = path.join(tempDir(), "orion.db")
      const insert = Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`INSERT INTO saved_search (id, created, updated, name, filters) VALUES ('s1', 'x', 'x', 'kept', '{}')`)
      yield* insert.pipe(Effect.provide(Database.layerFromUrl(file)))
      const names = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ name: string }>`SELECT name FROM saved_search`).pipe(
        Effect.provide(Database.layerFromUrl(file)))
      expect(names.map((r) => r.name)).toEqual(["kept"])
    }))

  it.effect("a database that cannot be opened gives one clear message naming the URL, password masked", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(Effect.provide(Effect.void, Database.layerFromUrl("postgres://orion:hunter2@127.0.0.1:1/nope")))
      expect(err).toBeInstanceOf(Database.DatabaseError)
      expect((err as Database.DatabaseError).message).toContain("postgres://orion:***@127.0.0.1:1/nope")
      expect((err as Database.DatabaseError).message).not.toContain("hunter2")
      const notADir = path.join(tempDir(), "a-file")
      fs.writeFileSync(notADir, "")
      const dirErr = yield* Effect.flip(Effect.provide(Effect.void, Database.layerFromUrl(path.join(notADir, "orion.db"))))
      expect((dirErr as Database.DatabaseError).message).toContain(`Cannot open the Orion database at ${notADir}/orion.db: `)
    }))
})

describe.each(databases)("database reset on $name", (db) => {
  it.live("drops Orion's tables (only those), keeps nothing, and migrates afresh", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url, lifecycle } = db.fresh()
      yield* Layer.build(lifecycle)
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.all([
        sql`INSERT INTO saved_search (id, created, updated, name, filters) VALUES ('s1', '2021-01-01T00:00:00+00:00', '2021-01-01T00:00:00+00:00', 'gone', '{}')`,
        sql`CREATE TABLE not_orions (x INTEGER)`
      ])).pipe(Effect.provide(Database.layerFromUrl(url)))
      yield* Database.resetAt(url)
      const [searches, others, migrations] = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.all([
        sql<{ n: number }>`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM saved_search`,
        sql<{ n: number }>`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM not_orions`,
        sql<{ name: string }>`SELECT name FROM effect_sql_migrations`
      ])).pipe(Effect.provide(Database.layerFromUrl(url)))
      expect(Number(searches[0]!.n)).toBe(0)
      expect(Number(others[0]!.n)).toBe(0)
      expect(migrations.map((m) => m.name)).toEqual(["initial", "run_heartbeats", "decisions_on_states", "subflow_parent_exists", "event_notify", "deployment_location", "deployment_run_policies", "partial_indexes"])
    })))
})
