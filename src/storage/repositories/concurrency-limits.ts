/** Tag concurrency limits in the database: upsert by tag (keeping the taken slots), reads, paging, deletes (spec §11). */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { ConcurrencyLimit, type ConcurrencyLimitCreate } from "../../domain/concurrency-limit.js"
import type { ConcurrencyLimitFilterRequest } from "../../domain/filters.js"
import { newUuid } from "../../domain/primitives.js"
import { decodeRow, rowToDb } from "../codec.js"
import { Columns } from "../tables.js"
import { Database } from "../database.js"
import { currentDate, firstOrNotFound, touchedOrNotFound, type Upserted } from "./common.js"

const decodeLimit = decodeRow(ConcurrencyLimit, Columns.concurrency_limit)
const encodeLimit = Schema.encodeSync(ConcurrencyLimit)
const thing = "Concurrency limit"

export class ConcurrencyLimitRepository extends Effect.Service<ConcurrencyLimitRepository>()("orion/ConcurrencyLimitRepository", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dialect } = yield* Database

    /** Creates the limit for a tag, or changes the number of an existing one; slots already taken are kept. */
    const upsert = (input: ConcurrencyLimitCreate): Effect.Effect<Upserted<ConcurrencyLimit>, SqlError> =>
      Effect.gen(function*() {
        const now = yield* currentDate
        const id = newUuid()
        const row = rowToDb(dialect, encodeLimit({ id, created: now, updated: now, tag: input.tag, concurrency_limit: input.concurrency_limit, active_slots: [] }))
        const rows = yield* sql`INSERT INTO concurrency_limit ${sql.insert(row)}
          ON CONFLICT (tag) DO UPDATE SET concurrency_limit = excluded.concurrency_limit, updated = excluded.updated RETURNING *`
        const value = decodeLimit(rows[0] as Record<string, any>)
        return { value, created: value.id === id }
      })

    const get = (id: string) =>
      Effect.flatMap(sql`SELECT * FROM concurrency_limit WHERE id = ${id}`, firstOrNotFound(thing, id, decodeLimit))

    const getByTag = (tag: string) =>
      Effect.flatMap(sql`SELECT * FROM concurrency_limit WHERE tag = ${tag}`, firstOrNotFound(thing, tag, decodeLimit))

    const filter = (request: typeof ConcurrencyLimitFilterRequest.Type) =>
      Effect.map(
        sql`SELECT * FROM concurrency_limit ORDER BY tag LIMIT ${request.limit} OFFSET ${request.offset}`,
        (rows) => rows.map(decodeLimit)
      )

    const remove = (id: string) =>
      Effect.flatMap(sql`DELETE FROM concurrency_limit WHERE id = ${id} RETURNING id`, touchedOrNotFound(thing, id))

    const removeByTag = (tag: string) =>
      Effect.flatMap(sql`DELETE FROM concurrency_limit WHERE tag = ${tag} RETURNING id`, touchedOrNotFound(thing, tag))

    return { upsert, get, getByTag, filter, delete: remove, deleteByTag: removeByTag } as const
  })
}) {}
