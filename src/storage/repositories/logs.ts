/** Run logs in the database: batched multi-row inserts and filtered, sorted reads (spec §11 "Logs API"). */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Chunk, Effect, Schema } from "effect"
import type { LogFilterRequest } from "../../domain/filters.js"
import { Log, type LogCreate } from "../../domain/log.js"
import { newUuid } from "../../domain/primitives.js"
import { Columns, decodeRow, rowToDb } from "../codec.js"
import { Database } from "../database.js"
import { logOrderBy, logsWhere } from "../filters.js"
import { currentDate } from "./common.js"

const decodeLog = decodeRow(Log, Columns.log)
const encodeLog = Schema.encodeSync(Log)

/** Rows per INSERT: 500 rows × 9 columns stays far below the bind-parameter limits of SQLite and PostgreSQL. */
export const LOG_INSERT_CHUNK = 500

export class LogRepository extends Effect.Service<LogRepository>()("orion/LogRepository", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dialect } = yield* Database

    /** Stores the logs in one transaction, at most `LOG_INSERT_CHUNK` rows per statement; returns how many were stored. */
    const createMany = (logs: ReadonlyArray<LogCreate>): Effect.Effect<number, SqlError> =>
      logs.length === 0 ? Effect.succeed(0) : Effect.gen(function*() {
        const now = yield* currentDate
        const rows = logs.map((log) => rowToDb(dialect, encodeLog({ ...log, id: newUuid(), created: now, updated: now })))
        yield* sql.withTransaction(Effect.forEach(
          Chunk.chunksOf(Chunk.unsafeFromArray(rows), LOG_INSERT_CHUNK),
          (chunk) => sql`INSERT INTO log ${sql.insert(Chunk.toReadonlyArray(chunk))}`,
          { discard: true }
        ))
        return rows.length
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
