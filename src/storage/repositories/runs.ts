/**
 * The read side of flow runs and task runs, with their current state embedded and the computed run-time fields
 * (spec §1.10), plus the edits that are not state changes: renames, deletes, state history, run history (§4.5) and
 * the task dependency graph. Creating runs and changing their states belongs to the orchestrator.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { InvalidRequest, ObjectNotFound } from "../../domain/errors.js"
import type { CountRequest, FlowRunFilterRequest, TaskRunFilterRequest } from "../../domain/filters.js"
import { formatTimestamp, Uuid } from "../../domain/primitives.js"
import { FlowRun, type FlowRunUpdate, type RunKind, TaskRun } from "../../domain/runs.js"
import { isTerminal, State, TerminalStateTypes } from "../../domain/state.js"
import { decodeRow, normalizeRow, rowToDb, type TableColumns } from "../codec.js"
import { Columns } from "../tables.js"
import { Database } from "../database.js"
import { flowRunsWhere, runOrderBy, taskRunsWhere } from "../filters.js"
import { countFrom, currentDate, firstOrNotFound, touchedOrNotFound } from "./common.js"
import type { HistoryInterval, HistoryRequest, HistoryStateSummary } from "../../domain/history.js"
import { historyIntervals } from "./history.js"
import { TaskRunDependencies, TaskRunResult } from "../../domain/runs.js"
import { Decision } from "../../domain/orchestration.js"



/** The fields the computed run-time values depend on. */
type RunTimes = Pick<FlowRun, "total_run_time" | "state_type" | "state" | "start_time" | "expected_start_time">

const seconds = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000

/** Total run time, plus the time since entering the current state while it is RUNNING (spec §1.10). */
export const estimatedRunTime = (run: RunTimes, now: Date): number =>
  run.state_type === "RUNNING" && run.state !== null ? run.total_run_time + seconds(run.state.timestamp, now) : run.total_run_time

/** Lateness: how much later than expected the run started, or, not started yet and not finished, is now (spec §1.10). */
export const estimatedStartTimeDelta = (run: RunTimes, now: Date): number => {
  const expected = run.expected_start_time
  if (expected === null) return 0
  if (run.start_time !== null) return run.start_time > expected ? seconds(expected, run.start_time) : 0
  return !isTerminal(run.state_type) && expected < now ? seconds(expected, now) : 0
}

const STATE_PREFIX = "state__"
const stateTables = { flow_run: "flow_run_state", task_run: "task_run_state" } as const
const stateThings = { flow_run: "Flow run state", task_run: "Task run state" } as const

/** Selects the run columns and, prefixed with `state__`, those of its current state (joined as `s`). */
const stateColumns = ["id", "type", "name", "timestamp", "message", "data", "state_details"]
  .map((c) => `s.${c} AS ${STATE_PREFIX}${c}`).join(", ")

const decodeState = decodeRow(State, Columns.state)
const decodeDecision = decodeRow(Decision, Columns.decision)

/** Decodes a run row with its `state__` columns, then computes the estimates at `now`. */
const runDecoder = <A extends RunTimes>(schema: Schema.Schema<A, any>, columns: TableColumns) => {
  const decode = decodeRow(schema, columns)
  return (now: Date) => (row: Record<string, any>): A => {
    const run: Record<string, unknown> = {}
    const state: Record<string, unknown> = {}
    for (const key in row) {
      if (key.startsWith(STATE_PREFIX)) state[key.slice(STATE_PREFIX.length)] = row[key]
      else run[key] = row[key]
    }
    const decoded = decode({
      ...run,
      state: state.id === null || state.id === undefined ? null : normalizeRow(state, Columns.state),
      estimated_run_time: 0,
      estimated_start_time_delta: 0
    })
    return { ...decoded, estimated_run_time: estimatedRunTime(decoded, now), estimated_start_time_delta: estimatedStartTimeDelta(decoded, now) }
  }
}

const decodeFlowRun = runDecoder(FlowRun, Columns.flow_run)
const decodeTaskRun = runDecoder(TaskRun, Columns.task_run)

export class RunRepository extends Effect.Service<RunRepository>()("orion/RunRepository", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dialect } = yield* Database

    const selectFlowRuns = sql.literal(`SELECT fr.*, ${stateColumns} FROM flow_run AS fr LEFT JOIN flow_run_state AS s ON s.id = fr.state_id`)
    const selectTaskRuns = sql.literal(`SELECT tr.*, ${stateColumns} FROM task_run AS tr LEFT JOIN task_run_state AS s ON s.id = tr.state_id`)

    const getFlowRun = (id: string): Effect.Effect<FlowRun, ObjectNotFound | SqlError> =>
      Effect.gen(function*() {
        const rows = yield* sql`${selectFlowRuns} WHERE fr.id = ${id}`
        return yield* firstOrNotFound("Flow run", id, decodeFlowRun(yield* currentDate))(rows)
      })

    const getTaskRun = (id: string): Effect.Effect<TaskRun, ObjectNotFound | SqlError> =>
      Effect.gen(function*() {
        const rows = yield* sql`${selectTaskRuns} WHERE tr.id = ${id}`
        return yield* firstOrNotFound("Task run", id, decodeTaskRun(yield* currentDate))(rows)
      })

    const filterFlowRuns = (request: FlowRunFilterRequest): Effect.Effect<Array<FlowRun>, SqlError> =>
      Effect.gen(function*() {
        const rows = yield* sql`${selectFlowRuns} WHERE ${flowRunsWhere(sql, request)}
          ORDER BY ${runOrderBy(sql, "fr", request.sort)} LIMIT ${request.limit} OFFSET ${request.offset}`
        return rows.map(decodeFlowRun(yield* currentDate))
      })

    const filterTaskRuns = (request: TaskRunFilterRequest): Effect.Effect<Array<TaskRun>, SqlError> =>
      Effect.gen(function*() {
        const rows = yield* sql`${selectTaskRuns} WHERE ${taskRunsWhere(sql, request)}
          ORDER BY ${runOrderBy(sql, "tr", request.sort)} LIMIT ${request.limit} OFFSET ${request.offset}`
        return rows.map(decodeTaskRun(yield* currentDate))
      })

    const countFlowRuns = (request: CountRequest) =>
      Effect.map(sql`SELECT CAST(COUNT(*) AS INTEGER) AS count FROM flow_run AS fr WHERE ${flowRunsWhere(sql, request)}`, countFrom)

    const countTaskRuns = (request: CountRequest) =>
      Effect.map(sql`SELECT CAST(COUNT(*) AS INTEGER) AS count FROM task_run AS tr WHERE ${taskRunsWhere(sql, request)}`, countFrom)

    /** Applies the given fields only and bumps `updated`. */
    const updateFlowRun = (id: string, changes: FlowRunUpdate): Effect.Effect<void, ObjectNotFound | SqlError> =>
      Effect.gen(function*() {
        const now = yield* currentDate
        const fields = rowToDb(dialect, {
          updated: now,
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.flow_version !== undefined ? { flow_version: changes.flow_version } : {}),
          ...(changes.parameters !== undefined ? { parameters: changes.parameters } : {})
        })
        yield* Effect.flatMap(sql`UPDATE flow_run SET ${sql.update(fields)} WHERE id = ${id} RETURNING id`, touchedOrNotFound("Flow run", id))
      })

    /** Deletes the flow run with its task runs and states; its subflows lose their parent pointer. */
    const deleteFlowRun = (id: string) =>
      Effect.flatMap(sql`DELETE FROM flow_run WHERE id = ${id} RETURNING id`, touchedOrNotFound("Flow run", id))

    /** Deletes the task run with its states; a subflow it stood for keeps existing with `parent_task_run_id` null. */
    const deleteTaskRun = (id: string) =>
      Effect.flatMap(sql`DELETE FROM task_run WHERE id = ${id} RETURNING id`, touchedOrNotFound("Task run", id))

    /**
     * Records that a running run is alive: its `heartbeat_time` becomes now (not an edit, so `updated` stays). A late
     * heartbeat for a run that has left Running changes nothing; an unknown run is `ObjectNotFound`.
     */
    const heartbeat = (kind: RunKind, id: string): Effect.Effect<void, ObjectNotFound | SqlError> =>
      Effect.gen(function*() {
        const now = formatTimestamp(yield* currentDate)
        const at = sql.onDialectOrElse({ pg: () => sql`CAST(${now} AS timestamptz)`, orElse: () => sql`${now}` })
        const rows = yield* sql`UPDATE ${sql(kind)} SET heartbeat_time = CASE WHEN state_type = 'RUNNING' THEN ${at} ELSE heartbeat_time END
          WHERE id = ${id} RETURNING id`
        yield* touchedOrNotFound(kind === "flow_run" ? "Flow run" : "Task run", id)(rows)
      })

    /** Every state the run has been in, oldest first; empty for an unknown run. */
    const readStates = (kind: RunKind, runId: string): Effect.Effect<Array<State>, SqlError> =>
      Effect.map(
        sql`SELECT * FROM ${sql(stateTables[kind])} WHERE ${sql(`${kind}_id`)} = ${runId} ORDER BY timestamp ASC`,
        (rows) => rows.map(decodeState)
      )

    const readState = (kind: RunKind, stateId: string): Effect.Effect<State, ObjectNotFound | SqlError> =>
      Effect.flatMap(
        sql`SELECT * FROM ${sql(stateTables[kind])} WHERE id = ${stateId}`,
        firstOrNotFound(stateThings[kind], stateId, decodeState)
      )

    /** Seconds since the epoch of a timestamp column, as a double on both databases. */
    const epoch = (column: string): Statement.Fragment =>
      sql.onDialectOrElse({
        pg: () => sql.literal(`CAST(EXTRACT(EPOCH FROM ${column}) AS DOUBLE PRECISION)`),
        orElse: () => sql.literal(`unixepoch(${column}, 'subsec')`)
      })
    /** A bound timestamp that compares with timestamp columns (pg needs the type spelled out inside VALUES). */
    const timestamp = (d: Date): Statement.Fragment =>
      sql.onDialectOrElse({ pg: () => sql`CAST(${formatTimestamp(d)} AS timestamptz)`, orElse: () => sql`${formatTimestamp(d)}` })

    /**
     * Counts the matching runs per interval of expected start time and current state, with the sums of their positive
     * estimated run times and lateness (spec §4.5). Every interval is returned; empty ones have `states: []`.
     */
    const history = (kind: RunKind, request: HistoryRequest): Effect.Effect<Array<HistoryInterval>, InvalidRequest | SqlError> =>
      Effect.gen(function*() {
        if (!(request.history_interval_seconds >= 1)) {
          return yield* new InvalidRequest({ detail: "History interval must not be less than 1 second." })
        }
        const intervals = historyIntervals(request.history_start, request.history_end, request.history_interval_seconds)
        const first = intervals[0]
        const last = intervals[intervals.length - 1]
        if (first === undefined || last === undefined) return []
        const now = yield* currentDate
        const r = kind === "flow_run" ? "fr" : "tr"
        const col = (c: string) => `${r}.${c}`
        const from = sql.literal(`${kind} AS ${r} JOIN ${stateTables[kind]} AS s ON s.id = ${r}.state_id`)
        const where = kind === "flow_run" ? flowRunsWhere(sql, request) : taskRunsWhere(sql, request)
        const nowSeconds = sql`CAST(${now.getTime() / 1000} AS DOUBLE PRECISION)`
        const terminal = sql.literal(TerminalStateTypes.map((t) => `'${t}'`).join(", "))
        const runTime = sql`${sql.literal(col("total_run_time"))}
          + CASE WHEN s.type = 'RUNNING' THEN ${nowSeconds} - ${epoch("s.timestamp")} ELSE 0 END`
        const lateness = sql`CASE
          WHEN ${sql.literal(col("start_time"))} > ${sql.literal(col("expected_start_time"))}
            THEN ${epoch(col("start_time"))} - ${epoch(col("expected_start_time"))}
          WHEN ${sql.literal(col("start_time"))} IS NULL AND s.type NOT IN (${terminal}) AND ${sql.literal(col("expected_start_time"))} < ${timestamp(now)}
            THEN ${nowSeconds} - ${epoch(col("expected_start_time"))}
          ELSE 0 END`
        const values = sql.csv(intervals.map((iv, k) => sql`(${sql.literal(String(k))}, ${timestamp(iv.start)}, ${timestamp(iv.end)})`))
        const rows = yield* sql<{
          idx: number
          state_type: HistoryStateSummary["state_type"]
          state_name: string
          count_runs: number
          sum_estimated_run_time: number
          sum_estimated_lateness: number
        }>`WITH intervals (idx, interval_start, interval_end) AS (VALUES ${values}),
          runs AS (
            SELECT ${sql.literal(col("expected_start_time"))} AS expected_start_time, s.type AS state_type, s.name AS state_name,
              ${runTime} AS run_time, ${lateness} AS lateness
            FROM ${from}
            WHERE ${where}
              AND ${sql.literal(col("expected_start_time"))} >= ${timestamp(first.start)}
              AND ${sql.literal(col("expected_start_time"))} < ${timestamp(last.end)}
          )
          SELECT i.idx AS idx, r.state_type AS state_type, r.state_name AS state_name,
            CAST(COUNT(*) AS INTEGER) AS count_runs,
            CAST(SUM(CASE WHEN r.run_time > 0 THEN r.run_time ELSE 0 END) AS DOUBLE PRECISION) AS sum_estimated_run_time,
            CAST(SUM(CASE WHEN r.lateness > 0 THEN r.lateness ELSE 0 END) AS DOUBLE PRECISION) AS sum_estimated_lateness
          FROM intervals AS i JOIN runs AS r ON r.expected_start_time >= i.interval_start AND r.expected_start_time < i.interval_end
          GROUP BY i.idx, r.state_type, r.state_name`
        const byInterval = new Map<number, Array<HistoryStateSummary>>()
        for (const row of rows) {
          const idx = Number(row.idx)
          const states = byInterval.get(idx) ?? []
          states.push({
            state_type: row.state_type,
            state_name: row.state_name,
            count_runs: Number(row.count_runs),
            sum_estimated_run_time: Number(row.sum_estimated_run_time),
            sum_estimated_lateness: Number(row.sum_estimated_lateness)
          })
          byInterval.set(idx, states)
        }
        const order = (a: HistoryStateSummary, b: HistoryStateSummary) =>
          a.state_type < b.state_type ? -1 : a.state_type > b.state_type ? 1 : a.state_name < b.state_name ? -1 : a.state_name > b.state_name ? 1 : 0
        return intervals.map((iv, k) => ({
          interval_start: iv.start,
          interval_end: iv.end,
          states: (byInterval.get(k) ?? []).sort(order)
        }))
      })

    /**
     * Every task run of the flow run with its current state and the task runs its inputs came from (the deduplicated
     * union of all `task_inputs` of type "task_run", in order of first appearance).
     */
    const graph = (flowRunId: string): Effect.Effect<Array<TaskRunDependencies>, ObjectNotFound | SqlError> =>
      Effect.gen(function*() {
        const runs = yield* sql`SELECT id FROM flow_run WHERE id = ${flowRunId}`
        if (runs.length === 0) return yield* new ObjectNotFound({ thing: "Flow run", id: flowRunId })
        const rows = yield* sql`${selectTaskRuns} WHERE tr.flow_run_id = ${flowRunId}
          ORDER BY tr.expected_start_time ASC NULLS LAST, tr.id ASC`
        return rows.map(decodeTaskRun(yield* currentDate)).map((run) => {
          const seen = new Set<string>()
          const upstream: Array<TaskRunResult> = []
          for (const inputs of Object.values(run.task_inputs)) {
            for (const input of inputs) {
              if (input.input_type === "task_run" && !seen.has(input.id)) {
                seen.add(input.id)
                upstream.push({ input_type: "task_run", id: input.id })
              }
            }
          }
          return { id: run.id, upstream_dependencies: upstream, state: run.state }
        })
      })

    /** The orchestrator's recorded decisions on the run, oldest first; `ObjectNotFound` for an unknown run. */
    const readDecisions = (kind: RunKind, runId: string): Effect.Effect<Array<Decision>, ObjectNotFound | SqlError> =>
      Effect.gen(function*() {
        const runs = yield* sql`SELECT id FROM ${sql(kind)} WHERE id = ${runId}`
        if (runs.length === 0) return yield* new ObjectNotFound({ thing: kind === "flow_run" ? "Flow run" : "Task run", id: runId })
        const rows = yield* sql`SELECT * FROM decision WHERE run_id = ${runId} AND run_kind = ${kind} ORDER BY timestamp ASC, id ASC`
        return rows.map(decodeDecision)
      })

    return {
      getFlowRun, getTaskRun, filterFlowRuns, countFlowRuns, filterTaskRuns, countTaskRuns,
      updateFlowRun, deleteFlowRun, deleteTaskRun, heartbeat, readStates, readState, readDecisions, history, graph
    } as const
  })
}) {}
