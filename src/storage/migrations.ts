/** The metadata database schema as forward-only migrations, one DDL for SQLite and PostgreSQL (spec §1.11). */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** Column types per dialect: timestamps are fixed-width UTC TEXT on SQLite, timestamptz on PostgreSQL. */
const types = (sql: SqlClient.SqlClient) => {
  const pick = (pg: string, sqlite: string) => sql.onDialectOrElse({ pg: () => sql.literal(pg), orElse: () => sql.literal(sqlite) })
  return {
    /** Tables keyed by a time-ordered UUID are stored clustered on it in SQLite: one B-tree instead of two. */
    clustered: sql.onDialectOrElse({ sqlite: () => sql.literal("WITHOUT ROWID"), orElse: () => sql.literal("") }),
    ts: pick("timestamptz", "TEXT"),
    json: pick("jsonb", "TEXT"),
    bool: pick("boolean", "INTEGER"),
    float: pick("double precision", "REAL"),
    serial: pick("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT")
  }
}

const runTimingColumns = (t: ReturnType<typeof types>, sql: SqlClient.SqlClient) => sql`
  state_id TEXT,
  state_type TEXT,
  state_name TEXT,
  run_count INTEGER NOT NULL DEFAULT 0,
  expected_start_time ${t.ts},
  next_scheduled_start_time ${t.ts},
  start_time ${t.ts},
  end_time ${t.ts},
  total_run_time ${t.float} NOT NULL DEFAULT 0`

const m0001_initial = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const t = types(sql)
  yield* sql`CREATE TABLE flow (
    id TEXT PRIMARY KEY,
    created ${t.ts} NOT NULL,
    updated ${t.ts} NOT NULL,
    name TEXT NOT NULL UNIQUE,
    tags ${t.json} NOT NULL
  )`
  yield* sql`CREATE TABLE deployment (
    id TEXT PRIMARY KEY,
    created ${t.ts} NOT NULL,
    updated ${t.ts} NOT NULL,
    name TEXT NOT NULL,
    flow_id TEXT NOT NULL REFERENCES flow (id) ON DELETE CASCADE,
    flow_data ${t.json} NOT NULL,
    schedule ${t.json},
    is_schedule_active ${t.bool} NOT NULL,
    parameters ${t.json} NOT NULL,
    tags ${t.json} NOT NULL,
    UNIQUE (flow_id, name)
  )`
  yield* sql`CREATE TABLE flow_run (
    id TEXT PRIMARY KEY,
    created ${t.ts} NOT NULL,
    updated ${t.ts} NOT NULL,
    name TEXT NOT NULL,
    flow_id TEXT NOT NULL REFERENCES flow (id) ON DELETE CASCADE,
    deployment_id TEXT REFERENCES deployment (id) ON DELETE SET NULL,
    flow_version TEXT,
    parameters ${t.json} NOT NULL,
    idempotency_key TEXT,
    context ${t.json} NOT NULL,
    empirical_policy ${t.json} NOT NULL,
    empirical_config ${t.json} NOT NULL,
    tags ${t.json} NOT NULL,
    parent_task_run_id TEXT,
    auto_scheduled ${t.bool} NOT NULL,
    ${runTimingColumns(t, sql)},
    UNIQUE (flow_id, idempotency_key)
  )`
  // (flow_id, idempotency_key), (flow_run_id, task_key, dynamic_key) and (flow_id, name) also index their first column.
  yield* sql`CREATE TABLE task_run (
    id TEXT PRIMARY KEY,
    created ${t.ts} NOT NULL,
    updated ${t.ts} NOT NULL,
    name TEXT NOT NULL,
    flow_run_id TEXT NOT NULL REFERENCES flow_run (id) ON DELETE CASCADE,
    task_key TEXT NOT NULL,
    dynamic_key TEXT NOT NULL,
    cache_key TEXT,
    cache_expiration ${t.ts},
    task_version TEXT,
    empirical_policy ${t.json} NOT NULL,
    tags ${t.json} NOT NULL,
    task_inputs ${t.json} NOT NULL,
    ${runTimingColumns(t, sql)},
    UNIQUE (flow_run_id, task_key, dynamic_key)
  )`
  for (const kind of ["flow_run", "task_run"] as const) {
    yield* sql`CREATE TABLE ${sql(`${kind}_state`)} (
      id TEXT PRIMARY KEY,
      ${sql(`${kind}_id`)} TEXT NOT NULL REFERENCES ${sql(kind)} (id) ON DELETE CASCADE,
      type TEXT NOT NULL,
      name TEXT NOT NULL,
      timestamp ${t.ts} NOT NULL,
      message TEXT,
      data ${t.json},
      state_details ${t.json} NOT NULL,
      UNIQUE (${sql(`${kind}_id`)}, timestamp)
    ) ${t.clustered}`
    // Filters and sorts read the run's denormalised state_type/state_name, so the state tables need no type/name
    // index, and nothing filters on `updated`: every index here is written on each transition, so only useful ones exist.
    for (const col of ["expected_start_time", "next_scheduled_start_time", "end_time", "start_time", "state_type", "state_name", "name"]) {
      yield* sql`CREATE INDEX ${sql(`ix_${kind}_${col}`)} ON ${sql(kind)} (${sql(col)})`
    }
  }
  // Deleting a task run nulls its subflows' parent pointer (spec §1.11): a FK on pg; SQLite cannot add one later, so a trigger.
  yield* sql`CREATE INDEX ix_flow_run_deployment_id ON flow_run (deployment_id)`
  yield* sql`CREATE INDEX ix_flow_run_parent_task_run_id ON flow_run (parent_task_run_id)`
  yield* sql`CREATE INDEX ix_deployment_name ON deployment (name)`
  yield* sql`CREATE INDEX ix_deployment_is_schedule_active ON deployment (is_schedule_active)`
  yield* sql`CREATE INDEX ix_flow_run_flow_version ON flow_run (flow_version)`
  yield* sql.onDialectOrElse({
    pg: () => sql`ALTER TABLE flow_run ADD CONSTRAINT fk_flow_run_parent_task_run FOREIGN KEY (parent_task_run_id) REFERENCES task_run (id) ON DELETE SET NULL`,
    orElse: () => sql`CREATE TRIGGER tr_task_run_delete_nulls_subflow_parent AFTER DELETE ON task_run
      BEGIN UPDATE flow_run SET parent_task_run_id = NULL WHERE parent_task_run_id = OLD.id; END`
  })
  // Tag filters (`tags ⊇ list`) use a GIN index on PostgreSQL; SQLite has no index for JSON array containment.
  for (const table of ["flow", "flow_run", "task_run", "deployment"]) {
    yield* sql.onDialectOrElse({
      pg: () => sql`CREATE INDEX ${sql(`ix_${table}_tags`)} ON ${sql(table)} USING GIN (tags jsonb_path_ops)`,
      orElse: () => sql`SELECT 1`
    })
  }
  yield* sql`CREATE TABLE task_run_state_cache (
    id TEXT PRIMARY KEY,
    created ${t.ts} NOT NULL,
    updated ${t.ts} NOT NULL,
    cache_key TEXT NOT NULL,
    cache_expiration ${t.ts},
    task_run_state_id TEXT NOT NULL,
    task_run_id TEXT NOT NULL
  )`
  yield* sql`CREATE INDEX ix_task_run_state_cache_key_created ON task_run_state_cache (cache_key, created DESC)`
  yield* sql`CREATE INDEX ix_task_run_state_cache_task_run_id ON task_run_state_cache (task_run_id)`
  yield* sql`CREATE TABLE saved_search (
    id TEXT PRIMARY KEY,
    created ${t.ts} NOT NULL,
    updated ${t.ts} NOT NULL,
    name TEXT NOT NULL UNIQUE,
    filters ${t.json} NOT NULL
  )`
  yield* sql`CREATE TABLE log (
    id TEXT PRIMARY KEY,
    created ${t.ts} NOT NULL,
    updated ${t.ts} NOT NULL,
    name TEXT NOT NULL,
    level INTEGER NOT NULL,
    message TEXT NOT NULL,
    timestamp ${t.ts} NOT NULL,
    flow_run_id TEXT NOT NULL,
    task_run_id TEXT
  )`
  yield* sql`CREATE INDEX ix_log_flow_run_id_timestamp ON log (flow_run_id, timestamp)`
  yield* sql`CREATE INDEX ix_log_task_run_id_timestamp ON log (task_run_id, timestamp)`
  yield* sql`CREATE INDEX ix_log_timestamp ON log (timestamp)`
  yield* sql`CREATE INDEX ix_log_level ON log (level)`
  yield* sql`CREATE TABLE concurrency_limit (
    id TEXT PRIMARY KEY,
    created ${t.ts} NOT NULL,
    updated ${t.ts} NOT NULL,
    tag TEXT NOT NULL UNIQUE,
    concurrency_limit INTEGER NOT NULL,
    active_slots ${t.json} NOT NULL
  )`
  yield* sql`CREATE TABLE decision (
    id TEXT NOT NULL,
    run_kind TEXT NOT NULL,
    run_id TEXT NOT NULL,
    timestamp ${t.ts} NOT NULL,
    from_type TEXT,
    proposed_type TEXT NOT NULL,
    proposed_name TEXT NOT NULL,
    forced ${t.bool} NOT NULL,
    status TEXT NOT NULL,
    rule TEXT,
    reason TEXT,
    state_id TEXT,
    state_type TEXT,
    state_name TEXT,
    rules ${t.json} NOT NULL,
    PRIMARY KEY (run_id, id)
  ) ${t.clustered}`
  // Clustered by run: a run's decisions are read together, in id (= time) order, from one B-tree.
  yield* sql`CREATE TABLE event (
    id ${t.serial},
    occurred ${t.ts} NOT NULL,
    event TEXT NOT NULL,
    flow_run_id TEXT,
    task_run_id TEXT,
    payload ${t.json} NOT NULL
  )`
  // Replays read `id > n` along the primary key and filter by run in memory: no second index to write per event.
})

/** Run heartbeats: a running run records that it is alive, so a run whose process died can be told apart. */
const m0002_run_heartbeats = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const t = types(sql)
  for (const kind of ["flow_run", "task_run"] as const) {
    yield* sql`ALTER TABLE ${sql(kind)} ADD COLUMN heartbeat_time ${t.ts}`
  }
})

/** The decision columns a state row carries: the orchestrator's decision that stored it. */
export const decisionColumns = ["decided_at", "from_type", "proposed_type", "proposed_name", "forced", "status", "rule", "reason", "rules"] as const

/**
 * A decision that stored a state is kept on that state's row (one row and one B-tree fewer per transition); the
 * `decision` table, renamed `decision_without_state`, keeps the others (WAIT, ABORT) and every decision made before.
 * The view `decision` shows them all, as the table did.
 */
const m0003_decisions_on_states = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const t = types(sql)
  yield* sql`ALTER TABLE decision RENAME TO decision_without_state`
  for (const kind of ["flow_run", "task_run"] as const) {
    const table = sql(`${kind}_state`)
    yield* sql`ALTER TABLE ${table} ADD COLUMN decided_at ${t.ts}`
    for (const col of ["from_type", "proposed_type", "proposed_name"]) yield* sql`ALTER TABLE ${table} ADD COLUMN ${sql(col)} TEXT`
    yield* sql`ALTER TABLE ${table} ADD COLUMN forced ${t.bool}`
    for (const col of ["status", "rule", "reason"]) yield* sql`ALTER TABLE ${table} ADD COLUMN ${sql(col)} TEXT`
    yield* sql`ALTER TABLE ${table} ADD COLUMN rules ${t.json}`
  }
  const fromStates = (kind: "flow_run" | "task_run") => sql`
    SELECT id, ${sql.literal(`'${kind}'`)} AS run_kind, ${sql(`${kind}_id`)} AS run_id, decided_at AS timestamp, from_type, proposed_type,
      proposed_name, forced, status, rule, reason, id AS state_id, type AS state_type, name AS state_name, rules
    FROM ${sql(`${kind}_state`)} WHERE status IS NOT NULL`
  yield* sql`CREATE VIEW decision AS
    SELECT id, run_kind, run_id, timestamp, from_type, proposed_type, proposed_name, forced, status, rule, reason, state_id,
      state_type, state_name, rules
    FROM decision_without_state
    UNION ALL ${fromStates("flow_run")}
    UNION ALL ${fromStates("task_run")}`
})

/**
 * A subflow's parent task run must exist on SQLite too, as the foreign key of 0001 makes it on PostgreSQL: SQLite cannot
 * add a foreign key to a table, so triggers refuse such a row the way a broken foreign key would.
 */
const m0004_subflow_parent_exists = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const [name, event] of [["tr_flow_run_insert_checks_parent", "INSERT"], ["tr_flow_run_update_checks_parent", "UPDATE OF parent_task_run_id"]] as const) {
    yield* sql.onDialectOrElse({
      pg: () => sql`SELECT 1`,
      orElse: () => sql`CREATE TRIGGER ${sql(name)} BEFORE ${sql.literal(event)} ON flow_run
        WHEN NEW.parent_task_run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM task_run WHERE id = NEW.parent_task_run_id)
        BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END`
    })
  }
})

/** The PostgreSQL channel on which every statement that appends events says the highest id it appended. */
export const EVENT_CHANNEL = "orion_event"

/**
 * PostgreSQL: a statement-level trigger notifies `EVENT_CHANNEL` with the highest id each INSERT into `event` appended,
 * delivered at commit, so a server's event stream also carries events written by other processes (`event-feed.ts`).
 * SQLite needs nothing: other writers are seen through `PRAGMA data_version`.
 */
const m0005_event_notify = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.onDialectOrElse({
    pg: () =>
      Effect.zipRight(
        sql.unsafe(`CREATE OR REPLACE FUNCTION orion_event_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$
          BEGIN
            PERFORM pg_notify('${EVENT_CHANNEL}', (SELECT COALESCE(MAX(id), 0)::text FROM appended));
            RETURN NULL;
          END $fn$`),
        sql.unsafe(`CREATE TRIGGER tr_event_notify AFTER INSERT ON event REFERENCING NEW TABLE AS appended
          FOR EACH STATEMENT EXECUTE FUNCTION orion_event_notify()`)
      ),
    orElse: () => Effect.void
  })
})

/**
 * A deployment says where any agent loads its flow — a module file and the name the flow is exported under — and which
 * work queue its runs go to (agents serve one or more queues).
 */
const m0006_deployment_location = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE deployment ADD COLUMN flow_path TEXT`
  yield* sql`ALTER TABLE deployment ADD COLUMN flow_export TEXT`
  yield* sql`ALTER TABLE deployment ADD COLUMN work_queue TEXT NOT NULL DEFAULT 'default'`
  yield* sql`CREATE INDEX ix_deployment_work_queue ON deployment (work_queue)`
})

/**
 * A deployment's runs get its retry policy (its flow's, with crash retries it may add); a catch-up window (runs missed
 * by more than it are skipped) and an overlap policy (allow, skip, cancel_previous).
 */
const m0007_deployment_run_policies = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const t = types(sql)
  yield* sql`ALTER TABLE deployment ADD COLUMN empirical_policy ${t.json} NOT NULL DEFAULT '{"max_retries":0,"retry_delay_seconds":0,"retry_jitter_factor":0}'`
  yield* sql`ALTER TABLE deployment ADD COLUMN catchup_seconds ${t.float}`
  yield* sql`ALTER TABLE deployment ADD COLUMN overlap TEXT NOT NULL DEFAULT 'allow'`
})

/**
 * Indexes on columns most runs leave empty — a next scheduled time (Scheduled runs only), a deployment, a parent task
 * run (subflows only) — hold only the rows that have one: every query on them compares the column, and a run without
 * one writes no page of theirs in its transactions.
 */
const m0008_partial_indexes = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const sparse = [["flow_run", "next_scheduled_start_time"], ["task_run", "next_scheduled_start_time"], ["flow_run", "deployment_id"], ["flow_run", "parent_task_run_id"]] as const
  for (const [table, column] of sparse) {
    const name = `ix_${table}_${column}`
    yield* sql`DROP INDEX ${sql(name)}`
    yield* sql`CREATE INDEX ${sql(name)} ON ${sql(table)} (${sql(column)}) WHERE ${sql(column)} IS NOT NULL`
  }
})

/** Every migration, keyed `NNNN_name`; append new ones, never edit an applied one. */
export const migrations = {
  "0001_initial": m0001_initial,
  "0002_run_heartbeats": m0002_run_heartbeats,
  "0003_decisions_on_states": m0003_decisions_on_states,
  "0004_subflow_parent_exists": m0004_subflow_parent_exists,
  "0005_event_notify": m0005_event_notify,
  "0006_deployment_location": m0006_deployment_location,
  "0007_deployment_run_policies": m0007_deployment_run_policies,
  "0008_partial_indexes": m0008_partial_indexes
} as const
