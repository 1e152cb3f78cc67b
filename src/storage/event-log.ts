/**
 * The `event` table as an append-only log: appending events inside a caller's transaction, reading them back in id
 * order for replays, and the `EventSink` through which storage hands committed events to the live event bus.
 *
 * A run's event carries the run's new state. The state is stored once, in its run's state table, so the stored event
 * refers to it (`state_id`) and a replay reads it back from there: the event's row is a quarter of the size, and the
 * orchestrator serialises each state once instead of twice. Replayed and live events read the same.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Option, Schema } from "effect"
import { formatTimestamp, OrionEvent, State, type NewEvent } from "../domain/index.js"
import { decodeRow, rowToDb } from "./codec.js"
import { Columns } from "./tables.js"
import { Database } from "./database.js"

const decodeEvent = decodeRow(OrionEvent, Columns.event)
const decodeState = decodeRow(State, Columns.state)
const encodeState = Schema.encodeSync(State)

/** The payload as stored: a run's state is replaced by a reference to its row (`state_id`). */
export const storedPayload = (payload: NewEvent["payload"]): NewEvent["payload"] => {
  const state = payload.state as { readonly id?: unknown } | null | undefined
  if (state === null || typeof state !== "object" || typeof state.id !== "string") return payload
  const out: Record<string, unknown> = {}
  for (const key in payload) {
    if (key === "state") out.state_id = state.id
    else out[key] = payload[key]
  }
  return out as NewEvent["payload"]
}

/** The table holding the state an event refers to, by the event's kind. */
const stateTableOf = (event: string) => event.startsWith("flow_run.") ? "flow_run_state" : event.startsWith("task_run.") ? "task_run_state" : null

/**
 * Puts back the states the stored events refer to, read from their runs' state tables (in the key's place, so a
 * replayed event reads as it did live). A state that is gone with its run — deleted since — comes back as null.
 */
const withStates = (events: Array<OrionEvent>) =>
  Effect.gen(function*() {
    const wanted = { flow_run_state: new Set<string>(), task_run_state: new Set<string>() }
    for (const e of events) {
      const table = stateTableOf(e.event)
      if (table !== null && typeof e.payload.state_id === "string" && !("state" in e.payload)) wanted[table].add(e.payload.state_id)
    }
    if (wanted.flow_run_state.size === 0 && wanted.task_run_state.size === 0) return events
    const sql = yield* SqlClient.SqlClient
    const states = new Map<string, unknown>()
    for (const table of ["flow_run_state", "task_run_state"] as const) {
      const ids = [...wanted[table]]
      for (let i = 0; i < ids.length; i += EVENT_INSERT_CHUNK) {
        const rows = yield* sql`SELECT id, type, name, timestamp, message, data, state_details FROM ${sql(table)} WHERE ${sql.in("id", ids.slice(i, i + EVENT_INSERT_CHUNK))}`
        for (const row of rows) {
          const state = decodeState(row as Record<string, any>)
          states.set(state.id, encodeState(state))
        }
      }
    }
    return events.map((e): OrionEvent => {
      const id = e.payload.state_id
      if (stateTableOf(e.event) === null || typeof id !== "string" || "state" in e.payload) return e
      const payload: Record<string, unknown> = {}
      for (const key in e.payload) {
        if (key === "state_id") payload.state = states.get(id) ?? null
        else payload[key] = e.payload[key]
      }
      return { ...e, payload: payload as OrionEvent["payload"] }
    })
  })

/** Rows per INSERT: 500 rows × 5 columns stays far below the bind-parameter limits of SQLite and PostgreSQL. */
const EVENT_INSERT_CHUNK = 500

/**
 * Where committed events go (the in-process event bus). `sequenced` wraps a transaction that appends events together
 * with the publication of those events, so that, within the process, events are committed and published in id order:
 * a subscriber that replays `id > n` from the table and then follows the live events neither misses nor repeats one.
 */
export class EventSink extends Context.Tag("orion/EventSink")<EventSink, {
  readonly publish: (events: ReadonlyArray<OrionEvent>) => Effect.Effect<void>
  readonly sequenced: <A, E, R>(appendAndPublish: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}>() {}

/** Appends events (inside the caller's transaction, if any); returns them with the ids the table assigned. */
export const appendEvents = (events: ReadonlyArray<NewEvent>): Effect.Effect<Array<OrionEvent>, SqlError, SqlClient.SqlClient | Database> =>
  events.length === 0 ? Effect.succeed([]) : Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dialect } = yield* Database
    const out: Array<OrionEvent> = []
    for (let i = 0; i < events.length; i += EVENT_INSERT_CHUNK) {
      const chunk = events.slice(i, i + EVENT_INSERT_CHUNK)
      const rows = yield* sql`INSERT INTO event ${sql.insert(chunk.map((e) => rowToDb(dialect, { ...e, occurred: formatTimestamp(e.occurred), payload: storedPayload(e.payload) })))} RETURNING id`
      // Ids are assigned in insertion order; RETURNING does not promise to list them in that order.
      const ids = rows.map((r) => Number((r as { id: unknown }).id)).sort((a, b) => a - b)
      chunk.forEach((e, j) => out.push({ ...e, id: ids[j]! }))
    }
    return out
  })

/** Up to `limit` events with id greater than `afterId`, in id order; only one flow run's events when `flowRunId` is set. */
export const readEventsAfter = (afterId: number, limit: number, flowRunId: Option.Option<string> = Option.none()) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(
      Option.isSome(flowRunId)
        ? sql`SELECT * FROM event WHERE id > ${afterId} AND flow_run_id = ${flowRunId.value} ORDER BY id LIMIT ${limit}`
        : sql`SELECT * FROM event WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`,
      (rows) => withStates(rows.map((r) => decodeEvent(r as Record<string, any>)))
    ))

/** The id of the newest event, or 0 when there is none. */
export const latestEventId = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql`SELECT MAX(id) AS id FROM event`, (rows) => Number((rows[0] as { id?: unknown } | undefined)?.id ?? 0)))
