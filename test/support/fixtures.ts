/**
 * Test data written straight into the tables (through `rowToDb`), standing in for the orchestrator: flows,
 * deployments, flow runs and task runs with a current state, and extra states appended to a run's history.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import {
  defaultRunPolicy,
  defaultStateName,
  emptyStateDetails,
  newUuid,
  RunPolicy,
  State,
  type DataDocument,
  type RunKind,
  type StateDetails,
  type StateType,
  type TaskInputs,
  type Uuid
} from "../../src/domain/index.js"
import { rowToDb } from "../../src/storage/codec.js"
import { Database } from "../../src/storage/database.js"

/** A UTC time on the fixtures' reference day, 2021-11-19: `at("10:00")`, `at("10:00:30.250")`. */
export const at = (time: string): Date => new Date(`2021-11-19T${time.length === 5 ? `${time}:00` : time}Z`)

export interface StateSeed {
  readonly type: StateType
  readonly name?: string
  readonly timestamp?: Date
  readonly message?: string | null
  readonly data?: DataDocument | null
  readonly details?: Partial<StateDetails>
}

interface RunTimingSeed {
  readonly id?: Uuid
  readonly name?: string
  readonly tags?: ReadonlyArray<string>
  readonly state?: StateSeed
  readonly run_count?: number
  readonly expected_start_time?: Date | null
  readonly next_scheduled_start_time?: Date | null
  readonly start_time?: Date | null
  readonly end_time?: Date | null
  readonly total_run_time?: number
  readonly created?: Date
}

export interface FlowRunSeed extends RunTimingSeed {
  readonly flow_id: string
  readonly deployment_id?: string | null
  readonly flow_version?: string | null
  readonly parameters?: Record<string, unknown>
  readonly idempotency_key?: string | null
  readonly parent_task_run_id?: string | null
  readonly auto_scheduled?: boolean
}

export interface TaskRunSeed extends RunTimingSeed {
  readonly flow_run_id: string
  readonly task_key?: string
  readonly dynamic_key?: string
  readonly task_inputs?: TaskInputs
}

const encodeState = Schema.encodeSync(State)
const encodePolicy = Schema.encodeSync(RunPolicy)
const fixedNow = at("00:00")

const context = Effect.all({ sql: SqlClient.SqlClient, db: Database })

const insert = (table: string, row: Record<string, unknown>) =>
  Effect.flatMap(context, ({ db, sql }) => sql`INSERT INTO ${sql(table)} ${sql.insert(rowToDb(db.dialect, row))}`)

export const insertFlow = (name: string, tags: ReadonlyArray<string> = [], id: Uuid = newUuid()) =>
  Effect.as(insert("flow", { id, created: fixedNow, updated: fixedNow, name, tags }), id)

export const insertDeployment = (
  flowId: string,
  name: string,
  options: { readonly tags?: ReadonlyArray<string>; readonly is_schedule_active?: boolean; readonly id?: Uuid } = {}
) => {
  const id = options.id ?? newUuid()
  return Effect.as(insert("deployment", {
    id, created: fixedNow, updated: fixedNow, name, flow_id: flowId,
    flow_data: { encoding: "text", blob: "flow.ts" }, schedule: null,
    is_schedule_active: options.is_schedule_active ?? true, parameters: {}, tags: options.tags ?? []
  }), id)
}

/** Appends a state row to the run's history and makes it the current state. */
export const addState = (kind: RunKind, runId: string, seed: StateSeed) =>
  Effect.gen(function*() {
    const { db, sql } = yield* context
    const state: State = {
      id: newUuid(),
      type: seed.type,
      name: seed.name ?? defaultStateName(seed.type),
      timestamp: seed.timestamp ?? fixedNow,
      message: seed.message ?? null,
      data: seed.data ?? null,
      state_details: { ...emptyStateDetails, [`${kind}_id`]: runId, ...seed.details }
    }
    yield* insert(`${kind}_state`, { ...encodeState(state), [`${kind}_id`]: runId })
    yield* sql`UPDATE ${sql(kind)} SET ${sql.update(rowToDb(db.dialect, { state_id: state.id, state_type: state.type, state_name: state.name }))}
      WHERE id = ${runId}`
    return state
  })

const timing = (seed: RunTimingSeed) => ({
  created: seed.created ?? fixedNow,
  updated: seed.created ?? fixedNow,
  tags: seed.tags ?? [],
  empirical_policy: encodePolicy(defaultRunPolicy),
  state_id: null,
  state_type: null,
  state_name: null,
  run_count: seed.run_count ?? 0,
  expected_start_time: seed.expected_start_time ?? null,
  next_scheduled_start_time: seed.next_scheduled_start_time ?? null,
  start_time: seed.start_time ?? null,
  end_time: seed.end_time ?? null,
  total_run_time: seed.total_run_time ?? 0
})

export const insertFlowRun = (seed: FlowRunSeed) =>
  Effect.gen(function*() {
    const id = seed.id ?? newUuid()
    yield* insert("flow_run", {
      id,
      name: seed.name ?? `flow-run-${id.slice(0, 8)}`,
      flow_id: seed.flow_id,
      deployment_id: seed.deployment_id ?? null,
      flow_version: seed.flow_version ?? null,
      parameters: seed.parameters ?? {},
      idempotency_key: seed.idempotency_key ?? null,
      context: {},
      empirical_config: {},
      parent_task_run_id: seed.parent_task_run_id ?? null,
      auto_scheduled: seed.auto_scheduled ?? false,
      ...timing(seed)
    })
    if (seed.state) yield* addState("flow_run", id, seed.state)
    return id
  })

export const insertTaskRun = (seed: TaskRunSeed) =>
  Effect.gen(function*() {
    const id = seed.id ?? newUuid()
    yield* insert("task_run", {
      id,
      name: seed.name ?? `task-run-${id.slice(0, 8)}`,
      flow_run_id: seed.flow_run_id,
      task_key: seed.task_key ?? `task-${id}`,
      dynamic_key: seed.dynamic_key ?? "0",
      cache_key: null,
      cache_expiration: null,
      task_version: null,
      task_inputs: seed.task_inputs ?? {},
      ...timing(seed)
    })
    if (seed.state) yield* addState("task_run", id, seed.state)
    return id
  })

/** Empties every table, so each test starts from nothing while the suite shares one database. */
export const clearDatabase = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const table of ["flow", "log", "saved_search", "concurrency_limit", "task_run_state_cache", "decision_without_state", "event"]) {
    yield* sql`DELETE FROM ${sql(table)}`
  }
})

/** Row counts of a table, for cascade checks. */
export const countRows = (table: string, where?: { readonly column: string; readonly value: unknown }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      where === undefined
        ? sql`SELECT CAST(COUNT(*) AS INTEGER) AS count FROM ${sql(table)}`
        : sql`SELECT CAST(COUNT(*) AS INTEGER) AS count FROM ${sql(table)} WHERE ${sql(where.column)} = ${where.value}`,
      (rows) => Number((rows[0] as { count: unknown }).count)
    ))
