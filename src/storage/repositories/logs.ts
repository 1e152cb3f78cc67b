/**
 * Run logs in the database: batched multi-row inserts, each log also appended as a `log` event and published after
 * commit, and filtered, sorted reads (spec §11 "Logs API").
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Chunk, Effect, Option, Schema } from "effect"
import type { LogFilterRequest } from "../../domain/filters.js"
import type { NewEvent, OrionEvent } from "../../domain/events.js"
import { Log, type LogCreate } from "../../domain/log.js"
import { formatTimestamp, newUuid } from "../../domain/primitives.js"
import { decodeRow, rowToDb } from "../codec.js"
import { Columns } from "../tables.js"
import { Database } from "../database.js"
import { appendEvents, EventSink } from "../event-log.js"
import { logOrderBy, logsWhere } from "../filters.js"
import { currentDate } from "./common.js"

const decodeLog = decodeRow(Log, Columns.log)
const encodeLog = Schema.encodeSync(Log)

/** Rows per INSERT: 500 rows × 9 columns stays far below the bind-parameter limits of SQLite and PostgreSQL. */
export const LOG_INSERT_CHUNK = 500

/** Characters of a log message carried in its event; the full message stays in the `log` table. */
export const LOG_EVENT_MESSAGE_CHARS = 2000

/** The small `log` event that announces a stored log line. */
const logEvent = (log: LogCreate, now: Date): NewEvent => ({
  occurred: now,
  event: "log",
  flow_run_id: log.flow_run_id,
  task_run_id: log.task_run_id,
  payload: {
    name: log.name,
    level: log.level,
    timestamp: formatTimestamp(log.timestamp),
    message: log.message.length > LOG_EVENT_MESSAGE_CHARS ? log.message.slice(0, LOG_EVENT_MESSAGE_CHARS) : log.message,
    ...(log.message.length > LOG_EVENT_MESSAGE_CHARS ? { truncated: true } : {})
  }
})

export class LogRepository extends Effect.Service<LogRepository>()("orion/LogRepository", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const database = yield* Database
    const { dialect } = database
    const sink = yield* Effect.serviceOption(EventSink)
    const publish = (events: ReadonlyArray<OrionEvent>) => Option.isSome(sink) ? sink.value.publish(events) : Effect.void
    const sequenced = <A, E>(effect: Effect.Effect<A, E>) => Option.isSome(sink) ? sink.value.sequenced(effect) : effect

    /**
     * Stores the logs and their `log` events in one transaction, at most `LOG_INSERT_CHUNK` rows per statement, and
     * publishes the events once committed; returns how many logs were stored. A log whose (client-chosen) id is
     * already stored, or earlier in the batch, is skipped, with its event: a batch sent twice is stored once.
     */
    const createMany = (logs: ReadonlyArray<LogCreate>): Effect.Effect<number, SqlError> =>
      logs.length === 0 ? Effect.succeed(0) : Effect.gen(function*() {
        const now = yield* currentDate
        const withIds = logs.map((log) => ({ ...log, id: log.id ?? newUuid() }))
        const rows = withIds.map((log) => rowToDb(dialect, encodeLog({ ...log, created: now, updated: now })))
        return yield* sequenced(Effect.gen(function*() {
          const { events, stored } = yield* sql.withTransaction(Effect.gen(function*() {
            const inserted = new Set<string>()
            for (const chunk of Chunk.chunksOf(Chunk.unsafeFromArray(rows), LOG_INSERT_CHUNK)) {
              const ids = yield* sql<{ id: string }>`INSERT INTO log ${sql.insert(Chunk.toReadonlyArray(chunk))} ON CONFLICT (id) DO NOTHING RETURNING id`
              for (const r of ids) inserted.add(String(r.id))
            }
            const stored = inserted.size
            // One event per stored log: of two lines with the same id in one batch, only the first was stored.
            const events = yield* appendEvents(withIds.filter((log) => inserted.delete(log.id)).map((log) => logEvent(log, now)))
            return { events, stored }
          })).pipe(Effect.provideService(SqlClient.SqlClient, sql), Effect.provideService(Database, database))
          yield* publish(events)
          return stored
        }))
      })

    const filter = (request: LogFilterRequest) =>
      Effect.map(
        sql`SELECT l.* FROM log AS l WHERE ${logsWhere(sql, request.logs)}
          ORDER BY ${logOrderBy(sql, request.sort)} LIMIT ${request.limit} OFFSET ${request.offset}`,
        (rows) => rows.map(decodeLog)
      )

    return { createMany, filter } as const
  })
}) {}
