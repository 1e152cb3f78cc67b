/**
 * The orchestrator's writes — a new run, a run pointed at its new state, states, events, decisions — as one interface
 * with three implementations over the same rows and SQL text (src/storage/tables.ts): `sqliteWriter` runs statements
 * prepared once, directly on the connection the enclosing transaction holds, and answers at once; `pipelinedWriter`
 * sends them on a PostgreSQL pipeline and answers as if they succeeded, each answer checked when the step settles;
 * `sqlWriter` runs them through @effect/sql (PostgreSQL, and SQLite when a batch has to wait).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type Sqlite from "better-sqlite3"
import {
  formatTimestamp, OrchestratedFields, type Decision, type FlowRunCreate, type NewEvent, type RunKind, type State,
  type TaskRunCreate
} from "../domain/index.js"
import type { OrchestratedRun } from "../orchestration/index.js"
import type { Dialect } from "./database.js"
import { storedPayload } from "./event-log.js"
import type { Pipeline, PgResult } from "./pg-pipeline.js"
import {
  bindColumn, bindRows, decisionTable, eventTable, insertSql, placeholder, runTables, stateTables, updateSql,
  type DecisionRow, type EventRow, type FlowRunRow, type StateRow, type Table, type TaskRunRow
} from "./tables.js"

/** What a new run's row holds besides its orchestrated columns: the create request's fields. */
export type NewRunFields = FlowRunCreate & TaskRunCreate

/** The orchestrator's decision that stored a state, kept on the state's row (see migration 0003). */
export type StoredDecision = Pick<Decision, "timestamp" | "from_type" | "proposed_type" | "proposed_name" | "forced" | "status" | "rule" | "reason" | "rules">

const timestamp = (d: Date | null) => (d === null ? null : formatTimestamp(d))

/** The orchestrated columns of a run (the columns spec §3.2's transforms keep), as stored. */
const orchestratedRow = (r: OrchestratedRun) => ({
  state_id: r.state?.id ?? null,
  state_type: r.state_type,
  state_name: r.state_name,
  run_count: r.run_count,
  expected_start_time: timestamp(r.expected_start_time),
  next_scheduled_start_time: timestamp(r.next_scheduled_start_time),
  start_time: timestamp(r.start_time),
  end_time: timestamp(r.end_time),
  total_run_time: r.total_run_time
}) satisfies { readonly [K in keyof typeof OrchestratedFields]: unknown }

/** The orchestrated columns but `state_id`, which every update sets. */
const comparedColumns = Object.keys(OrchestratedFields).filter((c) => c !== "state_id") as ReadonlyArray<Exclude<keyof typeof OrchestratedFields, "state_id">>

const same = (a: unknown, b: unknown) => a === b || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime())

/**
 * A new run's row: `run` as orchestrated so far, with the create request's fields. Typed by the table, so a column
 * added to a run's Schema fails to compile here until its value is given.
 */
export const newRunRow = (run: OrchestratedRun, p: NewRunFields, name: string, now: Date, autoScheduled: boolean): FlowRunRow | TaskRunRow => {
  const created = formatTimestamp(now)
  if (run.kind === "flow_run") {
    return {
      id: run.id, created, updated: created, name, flow_id: p.flow_id, deployment_id: p.deployment_id ?? null,
      flow_version: p.flow_version ?? null, parameters: p.parameters ?? {}, idempotency_key: p.idempotency_key ?? null,
      context: p.context ?? {}, empirical_policy: run.empirical_policy, empirical_config: {}, tags: run.tags,
      parent_task_run_id: p.parent_task_run_id ?? null, auto_scheduled: autoScheduled,
      ...orchestratedRow(run), heartbeat_time: null
    } satisfies FlowRunRow
  }
  return {
    id: run.id, created, updated: created, name, flow_run_id: p.flow_run_id, task_key: p.task_key, dynamic_key: p.dynamic_key,
    cache_key: p.cache_key ?? null, cache_expiration: timestamp(p.cache_expiration ?? null), task_version: p.task_version ?? null,
    empirical_policy: run.empirical_policy, tags: run.tags, task_inputs: p.task_inputs ?? {},
    ...orchestratedRow(run), heartbeat_time: null
  } satisfies TaskRunRow
}

/**
 * JSON of a decision's rule list: by the list itself — the engine hands out one shared list per policy and pair of
 * state types — and else by its names, a policy's few lists serialised once each.
 */
const rulesJsonByList = new WeakMap<ReadonlyArray<string>, string>()
const rulesJson = new Map<string, string>()
const rulesToJson = (rules: ReadonlyArray<string>): string => {
  let json = rulesJsonByList.get(rules)
  if (json !== undefined) return json
  const key = rules.join("\u0000")
  json = rulesJson.get(key)
  if (json === undefined) {
    json = JSON.stringify(rules)
    if (rulesJson.size < 1_000) rulesJson.set(key, json)
  }
  rulesJsonByList.set(rules, json)
  return json
}

/**
 * A state (its wire encoding) and the decision that stored it, as a row of `<kind>_state`: written out field by field
 * (not spread), so every row has one shape — a row per transition, bound column by column.
 */
export const stateRow = (kind: RunKind, runId: string, s: typeof State.Encoded, d: StoredDecision): StateRow => {
  const decidedAt = formatTimestamp(d.timestamp)
  // JSON already (see `rulesToJson`), which a JSON column binds as it is
  const rules = rulesToJson(d.rules) as unknown as ReadonlyArray<string>
  return kind === "flow_run"
    ? {
      id: s.id, type: s.type, name: s.name, timestamp: s.timestamp, message: s.message, data: s.data, state_details: s.state_details,
      flow_run_id: runId, decided_at: decidedAt, from_type: d.from_type, proposed_type: d.proposed_type, proposed_name: d.proposed_name,
      forced: d.forced, status: d.status, rule: d.rule, reason: d.reason, rules
    } satisfies StateRow<"flow_run">
    : {
      id: s.id, type: s.type, name: s.name, timestamp: s.timestamp, message: s.message, data: s.data, state_details: s.state_details,
      task_run_id: runId, decided_at: decidedAt, from_type: d.from_type, proposed_type: d.proposed_type, proposed_name: d.proposed_name,
      forced: d.forced, status: d.status, rule: d.rule, reason: d.reason, rules
    } satisfies StateRow<"task_run">
}

const eventRow = (e: NewEvent): EventRow => ({
  occurred: formatTimestamp(e.occurred), event: e.event, flow_run_id: e.flow_run_id, task_run_id: e.task_run_id,
  payload: storedPayload(e.payload) as EventRow["payload"]
})

const decisionRow = (d: Decision): DecisionRow => ({ ...d, timestamp: formatTimestamp(d.timestamp) })

/**
 * The partial UPDATE pointing a run at its new state: the orchestrated columns that changed from `before` (`state_id`
 * always), then `updated`, where the run is still at `before`'s state; with its bound values.
 */
const runUpdate = (dialect: Dialect, run: OrchestratedRun, before: OrchestratedRun, now: Date, suffix: string) => {
  const table = runTables[run.kind]
  const columns: Array<string> = ["state_id"]
  const values: Array<unknown> = [run.state?.id ?? null]
  for (const c of comparedColumns) {
    if (same(run[c], before[c])) continue
    columns.push(c)
    values.push(bindColumn(table, dialect, c, run[c]))
  }
  columns.push("updated")
  values.push(formatTimestamp(now), run.id, before.state?.id ?? null)
  const key = `${run.kind}:${columns.join()}${suffix}`
  let text = updateSqls[dialect].get(key)
  if (text === undefined) updateSqls[dialect].set(key, text = updateSql(table, dialect, columns, (next) => `${lookups(dialect).stillAt(next)}${suffix}`))
  return { text, values }
}
const updateSqls = { sqlite: new Map<string, string>(), pg: new Map<string, string>() }

/** Both writers' interface: `Now` answers at once (SQLite's synchronous path), `Deferred` with an Effect. */
export interface RunWriter<F extends "now" | "effect"> {
  readonly mode: F
  /** The id of the run a create would conflict with (same id, or same identity), if there is one. */
  readonly findExisting: (kind: RunKind, p: NewRunFields) => Out<F, string | null>
  /** Inserts a new run's row; false when a run with the same id or identity is there already. */
  readonly insertRun: (kind: RunKind, row: FlowRunRow | TaskRunRow) => Out<F, boolean>
  /**
   * Points the run at its new state, as orchestrated from `before`, if it is still at `before`'s state; false if it
   * moved on (another writer). Only the columns whose values changed are set: SQLite rewrites the entries of every
   * index on a column named in SET, whether or not its value changed.
   */
  readonly updateRun: (run: OrchestratedRun, before: OrchestratedRun, now: Date) => Out<F, boolean>
  readonly insertStates: (kind: RunKind, rows: ReadonlyArray<StateRow>) => Out<F, void>
  /** Appends events; returns their ids in the order given. */
  readonly insertEvents: (events: ReadonlyArray<NewEvent>) => Out<F, Array<number>>
  readonly insertDecisions: (decisions: ReadonlyArray<Decision>) => Out<F, void>
}
export type Out<F extends "now" | "effect", A> = F extends "now" ? A : Effect.Effect<A, SqlError>

/** Rows per multi-row INSERT. */
const rowsPerStatement = 64

const chunks = <A>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

const lookups = (dialect: Dialect) => {
  const p = (n: number) => placeholder(dialect, n)
  return {
    byId: (kind: RunKind) => `SELECT id FROM ${kind} WHERE id = ${p(0)}`,
    byIdentity: (kind: RunKind) => kind === "flow_run"
      ? `SELECT id FROM flow_run WHERE flow_id = ${p(0)} AND idempotency_key = ${p(1)}`
      : `SELECT id FROM task_run WHERE flow_run_id = ${p(0)} AND task_key = ${p(1)} AND dynamic_key = ${p(2)}`,
    identity: (kind: RunKind, q: NewRunFields) => kind === "flow_run" ? [q.flow_id, q.idempotency_key] : [q.flow_run_id, q.task_key, q.dynamic_key],
    /** The optimistic check: the run is still at the state it was read at. */
    stillAt: (next: (k: number) => string) =>
      `WHERE id = ${next(0)} AND ${dialect === "pg" ? `state_id IS NOT DISTINCT FROM ${next(1)}` : `state_id IS ${next(1)}`}`
  }
}

/** Whether a create with `p` can conflict only by id or by an idempotency key it carries (else nothing to look for). */
const hasIdentity = (kind: RunKind, p: NewRunFields) => kind === "task_run" || p.idempotency_key != null

/** The writes on SQLite, as statements prepared once per SQL text and run on `db` directly. Each throws on a database error. */
export const sqliteWriter = (db: Sqlite.Database): RunWriter<"now"> => {
  const statements = new Map<string, Sqlite.Statement>()
  const prepared = (text: string) => {
    let statement = statements.get(text)
    if (statement === undefined) statements.set(text, statement = db.prepare(text))
    return statement
  }
  const q = lookups("sqlite")
  /** Inserts rows in as few statements as `rowsPerStatement` allows; returns the last rowid. */
  const insertRows = <Row>(table: Table<Row>, rows: ReadonlyArray<Row>, suffix = "") => {
    let last = 0
    for (const chunk of chunks(rows, rowsPerStatement)) {
      last = Number(prepared(insertSql(table, "sqlite", chunk.length, suffix)).run(bindRows(table, "sqlite", chunk)).lastInsertRowid)
    }
    return last
  }
  const insertSqls = { flow_run: insertSql(runTables.flow_run, "sqlite", 1, " ON CONFLICT DO NOTHING"), task_run: insertSql(runTables.task_run, "sqlite", 1, " ON CONFLICT DO NOTHING") }
  return {
    mode: "now",
    findExisting: (kind, p) => {
      // Two lookups, each on its own index: one statement with `id = ? OR (…)` searched both, ~3× slower.
      const byId = p.id === undefined ? undefined : prepared(q.byId(kind)).get(p.id) as { id: string } | undefined
      if (byId !== undefined) return byId.id
      if (!hasIdentity(kind, p)) return null
      return (prepared(q.byIdentity(kind)).get(q.identity(kind, p)) as { id: string } | undefined)?.id ?? null
    },
    insertRun: (kind, row) => prepared(insertSqls[kind]).run(bindRows(runTables[kind] as Table<typeof row>, "sqlite", [row])).changes > 0,
    updateRun: (run, before, now) => {
      const { text, values } = runUpdate("sqlite", run, before, now, "")
      return prepared(text).run(values).changes > 0
    },
    insertStates: (kind, rows) => void insertRows(stateTables[kind] as Table<StateRow>, rows),
    insertEvents: (events) => {
      // One statement assigns consecutive ids (this transaction is the only writer), so the last id gives them all.
      const ids: Array<number> = []
      for (const chunk of chunks(events, rowsPerStatement)) {
        const last = insertRows(eventTable, chunk.map(eventRow))
        for (let k = chunk.length - 1; k >= 0; k--) ids.push(last - k)
      }
      return ids
    },
    insertDecisions: (decisions) => void insertRows(decisionTable, decisions.map(decisionRow))
  }
}

/** The writes through @effect/sql, on either database. */
export const sqlWriter = (sql: SqlClient.SqlClient, dialect: Dialect): RunWriter<"effect"> => {
  const q = lookups(dialect)
  const run = (text: string, params: ReadonlyArray<unknown>) => sql.unsafe(text, params as Array<any>)
  const insertRows = <Row>(table: Table<Row>, rows: ReadonlyArray<Row>, suffix = "") =>
    Effect.forEach(chunks(rows, rowsPerStatement), (chunk) => run(insertSql(table, dialect, chunk.length, suffix), bindRows(table, dialect, chunk)))
  const firstId = (rows: ReadonlyArray<unknown>) => (rows[0] as { id: string } | undefined)?.id ?? null
  return {
    mode: "effect",
    findExisting: (kind, p) =>
      Effect.gen(function*() {
        const byId = p.id === undefined ? null : firstId(yield* run(q.byId(kind), [p.id]))
        if (byId !== null || !hasIdentity(kind, p)) return byId
        return firstId(yield* run(q.byIdentity(kind), q.identity(kind, p)))
      }),
    insertRun: (kind, row) =>
      Effect.map(run(insertSql(runTables[kind], dialect, 1, " ON CONFLICT DO NOTHING RETURNING id"), bindRows(runTables[kind] as Table<typeof row>, dialect, [row])), (rows) => rows.length > 0),
    updateRun: (r, before, now) => {
      const { text, values } = runUpdate(dialect, r, before, now, " RETURNING id")
      return Effect.map(run(text, values), (rows) => rows.length > 0)
    },
    insertStates: (kind, rows) => Effect.asVoid(insertRows(stateTables[kind] as Table<StateRow>, rows)),
    insertEvents: (events) =>
      Effect.map(
        insertRows(eventTable, events.map(eventRow), " RETURNING id"),
        (results) => results.flatMap((rows) => rows.map((r) => Number((r as { id: unknown }).id)).sort((a, b) => a - b))
      ),
    insertDecisions: (decisions) => Effect.asVoid(insertRows(decisionTable, decisions.map(decisionRow)))
  }
}


/**
 * A run's partial UPDATE that fails (division by zero) when the run moved on: a pipelined statement must fail in the
 * database, not only in our check of its answer, since the COMMIT sent behind it may already be on its way.
 */
const updateOrFail = (text: string) => {
  let strict = strictUpdates.get(text)
  if (strict === undefined) strictUpdates.set(text, strict = `WITH moved AS (${text} RETURNING id) SELECT 1 / count(*) AS moved FROM moved`)
  return strict
}
const strictUpdates = new Map<string, string>()

/**
 * The writes on PostgreSQL, sent on a pipelined transaction (src/storage/pg-pipeline.ts) without waiting: each
 * answers as if it succeeded. A run that moved on, or a create whose run was there already, is an error in the
 * database (the transaction fails with it), and the orchestrator does the batch again through `sqlWriter`.
 */
export const pipelinedWriter = (pipeline: Pipeline): RunWriter<"now"> => {
  const insertRows = <Row>(table: Table<Row>, rows: ReadonlyArray<Row>, suffix = "", check?: (result: PgResult) => void) => {
    for (const chunk of chunks(rows, rowsPerStatement)) pipeline.send(insertSql(table, "pg", chunk.length, suffix), bindRows(table, "pg", chunk), check)
  }
  return {
    mode: "now",
    // Not looked up (that would wait for an answer): a run there already makes `insertRun` a unique violation.
    findExisting: () => null,
    insertRun: (kind, row) => {
      insertRows(runTables[kind] as Table<typeof row>, [row])
      return true
    },
    updateRun: (run, before, now) => {
      const { text, values } = runUpdate("pg", run, before, now, "")
      pipeline.send(updateOrFail(text), values)
      return true
    },
    insertStates: (kind, rows) => insertRows(stateTables[kind] as Table<StateRow>, rows),
    insertEvents: (events) => {
      // Filled in as the answers arrive, in the order sent: complete once the step has settled.
      const ids: Array<number> = []
      insertRows(eventTable, events.map(eventRow), " RETURNING id", (r) => {
        for (const id of r.rows.map((row) => Number(row.id)).sort((a, b) => a - b)) ids.push(id)
      })
      return ids
    },
    insertDecisions: (decisions) => insertRows(decisionTable, decisions.map(decisionRow))
  }
}
