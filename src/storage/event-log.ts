/**
 * The `event` table as an append-only log: appending events inside a caller's transaction, reading them back in id
 * order for replays, and the `EventSink` through which storage hands committed events to the live event bus.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Option } from "effect"
import { formatTimestamp, OrionEvent, type NewEvent } from "../domain/index.js"
import { Columns, decodeRow, rowToDb } from "./codec.js"
import { Database } from "./database.js"

const decodeEvent = decodeRow(OrionEvent, Columns.event)

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
      const rows = yield* sql`INSERT INTO event ${sql.insert(chunk.map((e) => rowToDb(dialect, { ...e, occurred: formatTimestamp(e.occurred) })))} RETURNING id`
      // Ids are assigned in insertion order; RETURNING does not promise to list them in that order.
      const ids = rows.map((r) => Number((r as { id: unknown }).id)).sort((a, b) => a - b)
      chunk.forEach((e, j) => out.push({ ...e, id: ids[j]! }))
    }
    return out
  })

/** Up to `limit` events with id greater than `afterId`, in id order; only one flow run's events when `flowRunId` is set. */
export const readEventsAfter = (afterId: number, limit: number, flowRunId: Option.Option<string> = Option.none()) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      Option.isSome(flowRunId)
        ? sql`SELECT * FROM event WHERE id > ${afterId} AND flow_run_id = ${flowRunId.value} ORDER BY id LIMIT ${limit}`
        : sql`SELECT * FROM event WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`,
      (rows) => rows.map((r) => decodeEvent(r as Record<string, any>))
    ))

/** The id of the newest event, or 0 when there is none. */
export const latestEventId = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql`SELECT MAX(id) AS id FROM event`, (rows) => Number((rows[0] as { id?: unknown } | undefined)?.id ?? 0)))
