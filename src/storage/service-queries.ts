/**
 * The reads and deletes of the service actors (services/): active deployments to schedule, Scheduled runs gone late,
 * running runs whose heartbeats stopped, and unstarted auto-scheduled runs to remove. State changes go through the
 * orchestrator; these only find the runs to propose for.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { Deployment } from "../domain/deployment.js"
import { formatTimestamp, type RunKind, type Uuid } from "../domain/index.js"
import { decodeRow } from "./codec.js"
import { Columns } from "./tables.js"

const decodeDeployment = decodeRow(Deployment, Columns.deployment)

/** A timestamp to compare with a timestamp column, on either dialect. */
const at = (sql: SqlClient.SqlClient, d: Date) =>
  sql.onDialectOrElse({ pg: () => sql`CAST(${formatTimestamp(d)} AS timestamptz)`, orElse: () => sql`${formatTimestamp(d)}` })

const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)))

/** A page of deployments with an active schedule; a row that cannot be read (a schedule from elsewhere) comes with its reason. */
export interface DeploymentPage {
  readonly deployments: ReadonlyArray<Deployment>
  readonly unreadable: ReadonlyArray<{ readonly id: string; readonly name: string; readonly reason: string }>
  /** The id to continue after (the page's last row, readable or not); null for an empty page. */
  readonly lastId: string | null
  /** Rows in the page: fewer than asked means it was the last. */
  readonly size: number
}

/** Deployments with an active schedule, `limit` at a time in id order after `afterId` (spec §5.2 step 1). */
export const activeScheduledDeployments = (afterId: string | null, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`SELECT * FROM deployment WHERE is_schedule_active = TRUE AND schedule IS NOT NULL
        ${afterId === null ? sql`` : sql`AND id > ${afterId}`} ORDER BY id LIMIT ${limit}`,
      (rows): DeploymentPage => {
        const deployments: Array<Deployment> = []
        const unreadable: Array<{ id: string; name: string; reason: string }> = []
        for (const row of rows as ReadonlyArray<Record<string, any>>) {
          try {
            deployments.push(decodeDeployment(row))
          } catch (e) {
            unreadable.push({ id: String(row.id), name: String(row.name), reason: e instanceof Error ? e.message : String(e) })
          }
        }
        const last = rows[rows.length - 1] as { id: string } | undefined
        return { deployments, unreadable, lastId: last?.id ?? null, size: rows.length }
      }
    ))

/** Which of `keys` are idempotency keys of the flow's runs already (one indexed lookup, on the unique (flow, key)). */
export const existingRunKeys = (flowId: string, keys: ReadonlyArray<string>) =>
  keys.length === 0 ? Effect.succeed(new Set<string>()) : Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`SELECT idempotency_key FROM flow_run WHERE flow_id = ${flowId} AND ${sql.in("idempotency_key", keys)}`,
      (rows) => new Set(rows.map((r) => String((r as { idempotency_key: unknown }).idempotency_key)))
    ))

/** Whether the deployment still has an active schedule as of `updated` (false: changed, paused or deleted since). */
export const deploymentUnchanged = (id: string, updated: Date) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql`SELECT is_schedule_active, updated FROM deployment WHERE id = ${id}`, (rows) => {
      const row = rows[0] as { is_schedule_active: unknown; updated: unknown } | undefined
      if (row === undefined) return false
      const active = row.is_schedule_active === true || row.is_schedule_active === 1
      return active && toDate(row.updated).getTime() === updated.getTime()
    }))

/** The SQL condition of a run made by the scheduler that has not started: auto-scheduled, SCHEDULED, never run. */
const unstartedAutoScheduled = (sql: SqlClient.SqlClient) =>
  sql`auto_scheduled = TRUE AND state_type = 'SCHEDULED' AND run_count = 0 AND start_time IS NULL`

/** Deletes those of `ids` that are auto-scheduled runs not started yet; answers the ids deleted. */
export const deleteUnstartedRuns = (ids: ReadonlyArray<string>) =>
  ids.length === 0 ? Effect.succeed([] as Array<Uuid>) : Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`DELETE FROM flow_run WHERE ${sql.in("id", ids)} AND ${unstartedAutoScheduled(sql)} RETURNING id`,
      (rows) => rows.map((r) => (r as { id: Uuid }).id)
    ))

/** Deletes the deployment's auto-scheduled runs not started yet (its schedule was paused, changed or deleted); answers their ids. */
export const deleteUnstartedRunsOf = (deploymentId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`DELETE FROM flow_run WHERE deployment_id = ${deploymentId} AND ${unstartedAutoScheduled(sql)} RETURNING id`,
      (rows) => rows.map((r) => (r as { id: Uuid }).id)
    ))

export interface LateCandidate {
  readonly id: Uuid
  readonly next_scheduled_start_time: Date
}

/**
 * Flow runs whose current state is exactly "Scheduled" (so not AwaitingRetry, not already Late) and whose time is at
 * or before `cutoff`, `limit` at a time in id order after `afterId` (spec §5.3, the fixed comparison).
 */
export const lateRunCandidates = (cutoff: Date, afterId: string | null, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`SELECT id, next_scheduled_start_time FROM flow_run
        WHERE state_type = 'SCHEDULED' AND state_name = 'Scheduled' AND next_scheduled_start_time <= ${at(sql, cutoff)}
        ${afterId === null ? sql`` : sql`AND id > ${afterId}`} ORDER BY id LIMIT ${limit}`,
      (rows) => rows.map((r): LateCandidate => {
        const row = r as { id: Uuid; next_scheduled_start_time: unknown }
        return { id: row.id, next_scheduled_start_time: toDate(row.next_scheduled_start_time) }
      })
    ))

export interface StaleRun {
  readonly id: Uuid
  readonly state_type: "PENDING" | "RUNNING" | "CANCELLING"
  /** The last sign of life: the later of its last heartbeat and the time it entered its current state. */
  readonly last_seen: Date
}

/**
 * Runs RUNNING or CANCELLING that have shown no sign of life since `cutoff`: neither a heartbeat nor a state change
 * (a run that never sent a heartbeat counts from the time it started running), `limit` at a time in id order. Flow
 * runs PENDING since `pendingCutoff` too: they were never started. (A task run may be Pending that long while it
 * waits for a concurrency slot; its flow run's liveness speaks for it.)
 */
export const staleRuns = (kind: RunKind, cutoff: Date, pendingCutoff: Date, afterId: string | null, limit: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const states = sql(`${kind}_state`)
    const before = at(sql, cutoff)
    const pendingBefore = at(sql, pendingCutoff)
    return Effect.map(
      sql`SELECT r.id AS id, r.state_type AS state_type, r.heartbeat_time AS heartbeat_time, s.timestamp AS entered
        FROM ${sql(kind)} AS r JOIN ${states} AS s ON s.id = r.state_id
        WHERE ((r.state_type IN ('RUNNING', 'CANCELLING') AND s.timestamp < ${before})
            ${kind === "flow_run" ? sql`OR (r.state_type = 'PENDING' AND s.timestamp < ${pendingBefore})` : sql``})
          AND (r.heartbeat_time IS NULL OR r.heartbeat_time < ${before})
          ${afterId === null ? sql`` : sql`AND r.id > ${afterId}`}
        ORDER BY r.id LIMIT ${limit}`,
      (rows) => rows.map((r): StaleRun => {
        const row = r as { id: Uuid; state_type: StaleRun["state_type"]; heartbeat_time: unknown; entered: unknown }
        const entered = toDate(row.entered)
        const beat = row.heartbeat_time === null ? null : toDate(row.heartbeat_time)
        return { id: row.id, state_type: row.state_type, last_seen: beat !== null && beat > entered ? beat : entered }
      })
    )
  })

/** The flow run's task runs not in a terminal state, with their state type. */
export const unfinishedTaskRuns = (flowRunId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql`SELECT id, state_type FROM task_run WHERE flow_run_id = ${flowRunId}
        AND (state_type IS NULL OR state_type NOT IN ('COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED'))`,
      (rows) => rows as unknown as ReadonlyArray<{ readonly id: Uuid; readonly state_type: string | null }>
    ))
