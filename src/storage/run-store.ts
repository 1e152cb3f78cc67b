/**
 * The SQL the orchestrator runs inside its transactions: load a run, create runs, store a transition with an
 * optimistic check on the run's current state, record decisions and events, and the queries rules ask for.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option } from "effect"
import {
  ConcurrencyLimit, formatTimestamp, newUuid, State,
  type Decision, type FlowRunCreate, type NewEvent, type RunKind, type TaskRunCreate
} from "../domain/index.js"
import type { CacheEntry, OrchestratedRun } from "../orchestration/index.js"
import { Columns, decodeRow, jsonText, rowToDb, toDb } from "./codec.js"
import { Database } from "./database.js"
import { storedPayload } from "./event-log.js"
import { decisionColumns } from "./migrations.js"
import { SqliteConnection, SqliteTransactions } from "./sqlite-client.js"
import type Sqlite from "better-sqlite3"

const decodeState = decodeRow(State, Columns.state)
const decodeLimit = decodeRow(ConcurrencyLimit, Columns.concurrency_limit)
const parseDate = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)))
const parseJson = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v)

/** The orchestrator's decision that stored a state, kept on the state's row (see migration 0003). */
export type StoredDecision = Pick<Decision, "timestamp" | "from_type" | "proposed_type" | "proposed_name" | "forced" | "status" | "rule" | "reason" | "rules">

/** The columns of `<kind>_state`, in the order of a `StateRow`. */
export const stateColumns = (kind: RunKind) =>
  ["id", `${kind}_id`, "type", "name", "timestamp", "message", "data", "state_details", ...decisionColumns] as const

/** A row of `<kind>_state` as its values, in `stateColumns` order (`forced` as 0/1, SQLite's boolean). */
export type StateRow = ReadonlyArray<unknown>

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

/** A state, encoded once through its Schema, and the decision that stored it, as a row of `<kind>_state`. */
export const stateRow = (runId: string, s: typeof State.Encoded, d: StoredDecision): StateRow => [
  s.id, runId, s.type, s.name, s.timestamp, s.message ?? null, s.data == null ? null : jsonText(s.data),
  jsonText(s.state_details ?? {}), formatTimestamp(d.timestamp), d.from_type ?? null, d.proposed_type, d.proposed_name,
  d.forced ? 1 : 0, d.status, d.rule ?? null, d.reason ?? null, rulesToJson(d.rules)
]

/** The orchestrated columns of a run, as bound values. */
export const runColumns = (r: OrchestratedRun) => ({
  state_id: r.state?.id ?? null,
  state_type: r.state_type,
  state_name: r.state_name,
  run_count: r.run_count,
  expected_start_time: r.expected_start_time && formatTimestamp(r.expected_start_time),
  next_scheduled_start_time: r.next_scheduled_start_time && formatTimestamp(r.next_scheduled_start_time),
  start_time: r.start_time && formatTimestamp(r.start_time),
  end_time: r.end_time && formatTimestamp(r.end_time),
  total_run_time: r.total_run_time
})

const chunks = <A>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

export const makeRunStore = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { dialect } = yield* Database
  const isNotDistinct = (col: string, v: string | null) =>
    dialect === "pg" ? sql`${sql(col)} IS NOT DISTINCT FROM ${v}` : sql`${sql(col)} IS ${v}`

  const stateTable = (kind: RunKind) => sql(`${kind}_state`)

  /** The run and its current state, or None. */
  const loadRun = (kind: RunKind, id: string) =>
    Effect.gen(function*() {
      const rows = kind === "flow_run"
        ? yield* sql`SELECT r.id, r.id AS flow_run_id, r.parent_task_run_id, r.tags, r.empirical_policy, r.state_type, r.state_name,
            r.run_count, r.expected_start_time, r.next_scheduled_start_time, r.start_time, r.end_time, r.total_run_time,
            s.id AS s_id, s.type AS s_type, s.name AS s_name, s.timestamp AS s_timestamp, s.message AS s_message, s.data AS s_data, s.state_details AS s_state_details
          FROM flow_run r LEFT JOIN flow_run_state s ON s.id = r.state_id WHERE r.id = ${id}`
        : yield* sql`SELECT r.id, r.flow_run_id, NULL AS parent_task_run_id, r.tags, r.empirical_policy, r.state_type, r.state_name,
            r.run_count, r.expected_start_time, r.next_scheduled_start_time, r.start_time, r.end_time, r.total_run_time,
            s.id AS s_id, s.type AS s_type, s.name AS s_name, s.timestamp AS s_timestamp, s.message AS s_message, s.data AS s_data, s.state_details AS s_state_details
          FROM task_run r LEFT JOIN task_run_state s ON s.id = r.state_id WHERE r.id = ${id}`
      const row = rows[0] as Record<string, any> | undefined
      if (!row) return Option.none<OrchestratedRun>()
      const state = row.s_id == null ? null : decodeState({
        id: row.s_id, type: row.s_type, name: row.s_name, timestamp: row.s_timestamp,
        message: row.s_message, data: row.s_data, state_details: row.s_state_details
      })
      return Option.some<OrchestratedRun>({
        kind,
        id: row.id,
        flow_run_id: row.flow_run_id,
        parent_task_run_id: row.parent_task_run_id ?? null,
        tags: parseJson(row.tags),
        empirical_policy: parseJson(row.empirical_policy),
        state,
        state_type: row.state_type ?? null,
        state_name: row.state_name ?? null,
        run_count: Number(row.run_count),
        expected_start_time: parseDate(row.expected_start_time),
        next_scheduled_start_time: parseDate(row.next_scheduled_start_time),
        start_time: parseDate(row.start_time),
        end_time: parseDate(row.end_time),
        total_run_time: Number(row.total_run_time)
      })
    })

  /** Inserts a new run row; returns false when an idempotency constraint matched an existing run instead. */
  const insertRun = (kind: RunKind, row: Record<string, unknown>) =>
    Effect.map(
      sql`INSERT INTO ${sql(kind)} ${sql.insert(rowToDb(dialect, row))} ON CONFLICT DO NOTHING RETURNING id`,
      (rows) => rows.length > 0
    )

  /** Points the run at its new state if it is still at `expectedStateId`; false if it moved on (another writer). */
  const updateRun = (run: OrchestratedRun, expectedStateId: string | null, now: Date) =>
    Effect.map(
      sql`UPDATE ${sql(run.kind)} SET ${sql.update({ ...runColumns(run), updated: formatTimestamp(now) })}
        WHERE id = ${run.id} AND ${isNotDistinct("state_id", expectedStateId)} RETURNING id`,
      (rows) => rows.length > 0
    )

  /** Inserts state rows (see `stateRow`) in multi-row statements. */
  const insertStates = (kind: RunKind, rows: ReadonlyArray<StateRow>) => {
    const columns = stateColumns(kind)
    const record = (row: StateRow) => Object.fromEntries(columns.map((c, i) => [c, c === "forced" ? toDb(dialect, row[i] === 1) : row[i]]))
    return Effect.forEach(chunks(rows, 500), (chunk) => sql`INSERT INTO ${stateTable(kind)} ${sql.insert(chunk.map(record))}`, { discard: true })
  }

  const insertDecisions = (decisions: ReadonlyArray<Decision>) =>
    Effect.forEach(chunks(decisions, 500), (chunk) =>
      sql`INSERT INTO decision_without_state ${sql.insert(chunk.map((d) => rowToDb(dialect, { ...d, timestamp: formatTimestamp(d.timestamp) })))}`, { discard: true })

  /** Appends events; returns their ids in the order given (ids are assigned in insertion order). */
  const insertEvents = (events: ReadonlyArray<NewEvent>) =>
    Effect.map(
      Effect.forEach(chunks(events, 500), (chunk) =>
        sql`INSERT INTO event ${sql.insert(chunk.map((e) => rowToDb(dialect, {
          occurred: formatTimestamp(e.occurred), event: e.event, flow_run_id: e.flow_run_id, task_run_id: e.task_run_id, payload: storedPayload(e.payload)
        })))} RETURNING id`),
      (results) => results.flatMap((rows) => rows.map((r) => Number((r as { id: unknown }).id)).sort((a, b) => a - b))
    )

  const findCachedState = (key: string, now: Date) =>
    Effect.gen(function*() {
      const t = formatTimestamp(now)
      const rows = yield* sql`SELECT s.* FROM task_run_state_cache c JOIN task_run_state s ON s.id = c.task_run_state_id
        WHERE c.cache_key = ${key} AND (c.cache_expiration IS NULL OR c.cache_expiration > ${t})
        ORDER BY c.created DESC LIMIT 1`
      return Option.map(Option.fromNullable(rows[0] as Record<string, any> | undefined), decodeState)
    })

  const insertCacheEntry = (e: CacheEntry, now: Date) =>
    sql`INSERT INTO task_run_state_cache ${sql.insert({
      id: newUuid(), created: formatTimestamp(now), updated: formatTimestamp(now),
      cache_key: e.cache_key, cache_expiration: e.cache_expiration && formatTimestamp(e.cache_expiration),
      task_run_state_id: e.task_run_state_id, task_run_id: e.task_run_id
    })}`.pipe(Effect.asVoid)

  const expireCacheEntries = (taskRunId: string, now: Date) => {
    const t = formatTimestamp(now)
    return sql`UPDATE task_run_state_cache SET cache_expiration = ${t}, updated = ${t}
      WHERE task_run_id = ${taskRunId} AND (cache_expiration IS NULL OR cache_expiration > ${t})`.pipe(Effect.asVoid)
  }

  const limitsForTags = (tags: ReadonlyArray<string>) =>
    tags.length === 0 ? Effect.succeed([]) : Effect.map(
      sql`SELECT * FROM concurrency_limit WHERE ${sql.in("tag", tags)} ORDER BY tag ${dialect === "pg" ? sql`FOR UPDATE` : sql``}`,
      (rows) => rows.map((r) => decodeLimit(r as Record<string, any>))
    )

  const setActiveSlots = (limitId: string, slots: ReadonlyArray<string>, now: Date) =>
    sql`UPDATE concurrency_limit SET active_slots = ${toDb(dialect, slots)}, updated = ${formatTimestamp(now)} WHERE id = ${limitId}`.pipe(Effect.asVoid)

  const taskRunIdsInStates = (flowRunId: string, types: ReadonlyArray<string>) =>
    Effect.map(
      sql`SELECT id FROM task_run WHERE flow_run_id = ${flowRunId} AND ${sql.in("state_type", types)} ORDER BY id`,
      (rows) => rows.map((r) => String((r as { id: unknown }).id))
    )

  const raw = Option.getOrNull(yield* Effect.serviceOption(SqliteConnection))
  const transactions = Option.getOrNull(yield* Effect.serviceOption(SqliteTransactions))

  return {
    sql, dialect, loadRun,
    /** One transaction around `effect`: the SQLite client's lean one when there is one, else `sql.withTransaction`. */
    withTransaction: transactions?.withTransaction ?? sql.withTransaction,
    /**
     * On SQLite, the writes as plain calls on a database whose queries all answer at once: the orchestrator then
     * drives its steps synchronously (`runStepsSync`) and writes through these. Null elsewhere (PostgreSQL answers
     * asynchronously, and the orchestrator writes through the Effects below).
     */
    sync: raw === null ? null : sqliteWrites(raw),
    /** On SQLite, a transaction begun, run and committed in one synchronous call, when the connection is free. */
    transactNow: transactions?.transactNow ?? null,
    /** On SQLite, a transaction begun now and held open across steps (`OpenTransaction`), when the connection is free. */
    openNow: transactions?.openNow ?? null,
    insertRun, updateRun, insertStates, insertDecisions, insertEvents,
    findCachedState, insertCacheEntry, expireCacheEntries, limitsForTags, setActiveSlots, taskRunIdsInStates
  }
})

export type RunStore = Effect.Effect.Success<typeof makeRunStore>

/** What a new run's row holds besides its orchestrated columns: the create request's fields. */
export type NewRunFields = FlowRunCreate & TaskRunCreate

/**
 * The orchestrator's writes on SQLite as statements prepared once and run directly on the connection that the
 * enclosing transaction holds: the same SQL as above, without a per-statement trip through the client. Values bind
 * by position, and a batch's states, events and decisions go in multi-row statements (up to `rowsPerStatement`).
 * Each throws on a database error.
 */
const sqliteWrites = (db: Sqlite.Database) => {
  const lazy = <A>(make: () => A) => {
    let value: A | undefined
    return () => (value ??= make())
  }
  const statements = new Map<string, Sqlite.Statement>()
  const prepared = (sql: string) => {
    let statement = statements.get(sql)
    if (statement === undefined) statements.set(sql, statement = db.prepare(sql))
    return statement
  }
  const values = (width: number, rows: number) => Array.from({ length: rows }, () => `(${Array(width).fill("?").join(", ")})`).join(", ")
  const rowsPerStatement = 64

  /** The statement inserting `rows` rows into `table`, by row count (prepared once per table and count). */
  const insertStatements = new Map<string, Array<Sqlite.Statement | undefined>>()
  const insertStatement = (table: string, columns: ReadonlyArray<string>, rows: number, suffix: string) => {
    let byCount = insertStatements.get(table)
    if (byCount === undefined) insertStatements.set(table, byCount = [])
    return byCount[rows] ??= prepared(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values(columns.length, rows)}${suffix}`)
  }

  /** Inserts rows (each an array in `columns`' order), in as few statements as `rowsPerStatement` allows. */
  const insertRows = (table: string, columns: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>, suffix = "") => {
    const width = columns.length
    let last = 0
    for (let i = 0; i < rows.length; i += rowsPerStatement) {
      const n = Math.min(rowsPerStatement, rows.length - i)
      const values = new Array<unknown>(n * width)
      for (let r = 0, at = 0; r < n; r++) {
        const row = rows[i + r]!
        for (let c = 0; c < width; c++) values[at++] = row[c]
      }
      last = Number(insertStatement(table, columns, n, suffix).run(values).lastInsertRowid)
    }
    return last
  }

  const runCols = ["state_id", "state_type", "state_name", "run_count", "expected_start_time", "next_scheduled_start_time", "start_time", "end_time", "total_run_time"] as const
  const common = ["id", "created", "updated", "name", "empirical_policy", "tags", ...runCols]
  const runInsertCols = {
    flow_run: [...common, "flow_id", "deployment_id", "flow_version", "parameters", "idempotency_key", "context", "empirical_config", "parent_task_run_id", "auto_scheduled"],
    task_run: [...common, "flow_run_id", "task_key", "dynamic_key", "cache_key", "cache_expiration", "task_version", "task_inputs"]
  }
  /**
   * UPDATE statements by the columns they set: SQLite rewrites the entries of every index on a column named in SET,
   * whether or not its value changed, so a transition sets only what it changed (Running → Completed leaves the
   * expected, next scheduled and start times, and their indexes, alone).
   */
  const updateStatements = new Map<string, Sqlite.Statement>()
  const updateStatement = (kind: RunKind, changed: number) => {
    const key = `${kind}:${changed}`
    let statement = updateStatements.get(key)
    if (statement === undefined) {
      const set = runCols.filter((_, i) => (changed & (1 << i)) !== 0).map((c) => `${c} = ?, `).join("")
      updateStatements.set(key, statement = prepared(`UPDATE ${kind} SET ${set}updated = ? WHERE id = ? AND state_id IS ?`))
    }
    return statement
  }
  const sameTime = (a: Date | null, b: Date | null) => (a === null ? b === null : b !== null && a.getTime() === b.getTime())
  const insertRunStatement = {
    flow_run: lazy(() => prepared(`INSERT INTO flow_run (${runInsertCols.flow_run.join(", ")}) VALUES ${values(runInsertCols.flow_run.length, 1)} ON CONFLICT DO NOTHING`)),
    task_run: lazy(() => prepared(`INSERT INTO task_run (${runInsertCols.task_run.join(", ")}) VALUES ${values(runInsertCols.task_run.length, 1)} ON CONFLICT DO NOTHING`))
  }
  const eventCols = ["occurred", "event", "flow_run_id", "task_run_id", "payload"]
  const decisionCols = ["id", "run_kind", "run_id", "timestamp", "from_type", "proposed_type", "proposed_name", "forced", "status", "rule", "reason", "state_id", "state_type", "state_name", "rules"]

  const findById = { flow_run: lazy(() => prepared("SELECT id FROM flow_run WHERE id = ?")), task_run: lazy(() => prepared("SELECT id FROM task_run WHERE id = ?")) }
  const findByIdentity = {
    flow_run: lazy(() => prepared("SELECT id FROM flow_run WHERE flow_id = ? AND idempotency_key = ?")),
    task_run: lazy(() => prepared("SELECT id FROM task_run WHERE flow_run_id = ? AND task_key = ? AND dynamic_key = ?"))
  }

  const insertEvents = (events: ReadonlyArray<NewEvent>): Array<number> => {
    // One statement assigns consecutive ids (this transaction is the only writer), so the last id gives them all.
    const ids: Array<number> = []
    for (let i = 0; i < events.length; i += rowsPerStatement) {
      const chunk = events.slice(i, i + rowsPerStatement)
      const last = insertRows("event", eventCols, chunk.map((e) => [formatTimestamp(e.occurred), e.event, e.flow_run_id ?? null, e.task_run_id ?? null, jsonText(storedPayload(e.payload))]))
      for (let k = chunk.length - 1; k >= 0; k--) ids.push(last - k)
    }
    return ids
  }
  const insertDecisions = (decisions: ReadonlyArray<Decision>): void => {
    insertRows("decision_without_state", decisionCols, decisions.map((d) => [
      d.id, d.run_kind, d.run_id, formatTimestamp(d.timestamp), d.from_type ?? null, d.proposed_type, d.proposed_name, d.forced ? 1 : 0,
      d.status, d.rule ?? null, d.reason ?? null, d.state_id ?? null, d.state_type ?? null, d.state_name ?? null, JSON.stringify(d.rules)
    ]))
  }
  const timestamp = (d: Date | null) => (d === null ? null : formatTimestamp(d))
  const json = (v: unknown) => (v === null || v === undefined ? null : jsonText(v))

  return {
    /** The id of the run a create would conflict with (same id, or same identity), if there is one. */
    findExisting: (kind: RunKind, p: NewRunFields): string | null => {
      // Two lookups, each on its own index: one statement with `id = ? OR (…)` searched both, ~3× slower.
      const byId = p.id === undefined ? undefined : findById[kind]().get(p.id) as { id: string } | undefined
      if (byId !== undefined) return byId.id
      if (kind === "flow_run" && p.idempotency_key == null) return null
      const byIdentity = (kind === "flow_run"
        ? findByIdentity.flow_run().get(p.flow_id, p.idempotency_key)
        : findByIdentity.task_run().get(p.flow_run_id, p.task_key, p.dynamic_key)) as { id: string } | undefined
      return byIdentity?.id ?? null
    },
    /**
     * Inserts a new run: `run` as orchestrated so far, with the create request's fields; false when a run with the same
     * id or identity is there already. Its values are laid out straight in `runInsertCols` order.
     */
    insertRun: (run: OrchestratedRun, p: NewRunFields, name: string, now: Date, autoScheduled: boolean): boolean => {
      const created = formatTimestamp(now)
      const values = run.kind === "flow_run"
        ? [
          run.id, created, created, name, json(run.empirical_policy), json(run.tags), run.state?.id ?? null, run.state_type, run.state_name,
          run.run_count, timestamp(run.expected_start_time), timestamp(run.next_scheduled_start_time), timestamp(run.start_time),
          timestamp(run.end_time), run.total_run_time,
          p.flow_id, p.deployment_id ?? null, p.flow_version ?? null, json(p.parameters ?? {}), p.idempotency_key ?? null,
          json(p.context ?? {}), "{}", p.parent_task_run_id ?? null, autoScheduled ? 1 : 0
        ]
        : [
          run.id, created, created, name, json(run.empirical_policy), json(run.tags), run.state?.id ?? null, run.state_type, run.state_name,
          run.run_count, timestamp(run.expected_start_time), timestamp(run.next_scheduled_start_time), timestamp(run.start_time),
          timestamp(run.end_time), run.total_run_time,
          p.flow_run_id, p.task_key, p.dynamic_key, p.cache_key ?? null, timestamp(p.cache_expiration ?? null), p.task_version ?? null,
          json(p.task_inputs ?? {})
        ]
      return insertRunStatement[run.kind]().run(values).changes > 0
    },
    /**
     * Points the run at its new state, as orchestrated from `before`, if it is still at `before`'s state; false if it
     * moved on (another writer). Only the columns whose values changed are set (see `updateStatement`).
     */
    updateRun: (run: OrchestratedRun, before: OrchestratedRun, now: Date): boolean => {
      const values: Array<unknown> = [run.state?.id ?? null]
      let changed = 1
      if (run.state_type !== before.state_type) { changed |= 2; values.push(run.state_type) }
      if (run.state_name !== before.state_name) { changed |= 4; values.push(run.state_name) }
      if (run.run_count !== before.run_count) { changed |= 8; values.push(run.run_count) }
      if (!sameTime(run.expected_start_time, before.expected_start_time)) { changed |= 16; values.push(timestamp(run.expected_start_time)) }
      if (!sameTime(run.next_scheduled_start_time, before.next_scheduled_start_time)) { changed |= 32; values.push(timestamp(run.next_scheduled_start_time)) }
      if (!sameTime(run.start_time, before.start_time)) { changed |= 64; values.push(timestamp(run.start_time)) }
      if (!sameTime(run.end_time, before.end_time)) { changed |= 128; values.push(timestamp(run.end_time)) }
      if (run.total_run_time !== before.total_run_time) { changed |= 256; values.push(run.total_run_time) }
      values.push(formatTimestamp(now), run.id, before.state?.id ?? null)
      return updateStatement(run.kind, changed).run(values).changes > 0
    },
    insertStates: (kind: RunKind, rows: ReadonlyArray<StateRow>): void => {
      insertRows(`${kind}_state`, stateColumns(kind), rows)
    },
    insertEvents,
    insertDecisions
  }
}
