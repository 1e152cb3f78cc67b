/**
 * What the orchestrator's transactions use of the database: loading a run, its writers (src/storage/run-writer.ts),
 * the transactions themselves, and the queries rules ask for (cache entries, concurrency limits).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option, Schema } from "effect"
import {
  ConcurrencyLimit, formatTimestamp, newUuid, OrchestratedFields, RunPolicy, State, Tags, Uuid, type RunKind
} from "../domain/index.js"
import type { CacheEntry, OrchestratedRun } from "../orchestration/index.js"
import { decodeRow, toDb } from "./codec.js"
import { Columns } from "./tables.js"
import { Database } from "./database.js"
import { openPipelined, PgPipelinePool } from "./pg-pipeline.js"
import { sqliteWriter, sqlWriter } from "./run-writer.js"
import { SqliteConnection, SqliteTransactions } from "./sqlite-client.js"

const decodeState = decodeRow(State, Columns.state)
const decodeLimit = decodeRow(ConcurrencyLimit, Columns.concurrency_limit)

/** What `loadRun` reads of a run: its orchestrated columns and what rules look at, decoded through the run's Schema. */
const LoadedRun = Schema.Struct({
  id: Uuid,
  flow_run_id: Uuid,
  parent_task_run_id: Schema.NullOr(Uuid),
  tags: Tags,
  empirical_policy: RunPolicy,
  ...OrchestratedFields
})
const loadedColumns = Object.keys(LoadedRun.fields).filter((c) => c !== "flow_run_id" && c !== "parent_task_run_id")
const decodeLoaded = decodeRow(LoadedRun, { json: ["tags", "empirical_policy"], int: ["run_count", "total_run_time"] })
const stateSelect = Object.keys(State.fields).map((c) => `s.${c} AS state__${c}`).join(", ")

export const makeRunStore = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { dialect } = yield* Database
  /** The run and its current state, or None. */
  const loadRun = (kind: RunKind, id: string) =>
    Effect.map(
      sql`SELECT ${sql.literal(loadedColumns.map((c) => `r.${c}`).join(", "))},
          ${sql.literal(kind === "flow_run" ? "r.id AS flow_run_id, r.parent_task_run_id" : "r.flow_run_id, NULL AS parent_task_run_id")},
          ${sql.literal(stateSelect)}
        FROM ${sql(kind)} r LEFT JOIN ${sql(`${kind}_state`)} s ON s.id = r.state_id WHERE r.id = ${id}`,
      (rows): Option.Option<OrchestratedRun> => {
        const row = rows[0] as Record<string, any> | undefined
        if (!row) return Option.none()
        const own: Record<string, unknown> = {}
        const state: Record<string, unknown> = {}
        for (const key in row) {
          if (key.startsWith("state__")) state[key.slice(7)] = row[key]
          else own[key] = row[key]
        }
        const { state_id: _, ...run } = decodeLoaded(own)
        return Option.some({ ...run, kind, state: state.id == null ? null : decodeState(state) })
      }
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
  const pipelinePool = Option.getOrNull(yield* Effect.serviceOption(PgPipelinePool))

  return {
    sql, dialect, loadRun,
    /** One transaction around `effect`: the SQLite client's lean one when there is one, else `sql.withTransaction`. */
    withTransaction: transactions?.withTransaction ?? sql.withTransaction,
    /**
     * On SQLite, the writes as plain calls on a database whose queries all answer at once: the orchestrator then
     * drives its steps synchronously (`runStepsSync`) and writes through these. Null elsewhere (PostgreSQL answers
     * asynchronously, and the orchestrator writes through `effectWriter`).
     */
    nowWriter: raw === null ? null : sqliteWriter(raw),
    /** The writes through Effects: on PostgreSQL, and on SQLite for a batch whose rules had to wait. */
    effectWriter: sqlWriter(sql, dialect),
    /** On SQLite, a transaction begun now and held open across steps (`OpenTransaction`), when the connection is free. */
    openNow: transactions?.openNow ?? null,
    /**
     * On PostgreSQL, a transaction begun on the orchestrator's pipelining connection, whose steps send their writes
     * without waiting for each answer (src/storage/pg-pipeline.ts).
     */
    openPipelined: pipelinePool === null ? null : () => openPipelined(pipelinePool),
    findCachedState, insertCacheEntry, expireCacheEntries, limitsForTags, setActiveSlots, taskRunIdsInStates
  }
})

export type RunStore = Effect.Effect.Success<typeof makeRunStore>
