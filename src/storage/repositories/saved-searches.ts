/** Saved searches in the database: upsert by unique name (replacing the filters), reads, paging and deletes (spec §1.7). */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import type { SavedSearchFilterRequest } from "../../domain/filters.js"
import { newUuid } from "../../domain/primitives.js"
import { SavedSearch, type SavedSearchCreate } from "../../domain/saved-search.js"
import { decodeRow, rowToDb } from "../codec.js"
import { Columns } from "../tables.js"
import { Database } from "../database.js"
import { currentDate, firstOrNotFound, touchedOrNotFound, type Upserted } from "./common.js"

const decodeSavedSearch = decodeRow(SavedSearch, Columns.saved_search)
const encodeSavedSearch = Schema.encodeSync(SavedSearch)

export class SavedSearchRepository extends Effect.Service<SavedSearchRepository>()("orion/SavedSearchRepository", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dialect } = yield* Database

    /** Creates the search, or replaces the filters of the one with the same name. */
    const upsert = (input: SavedSearchCreate): Effect.Effect<Upserted<SavedSearch>, SqlError> =>
      Effect.gen(function*() {
        const now = yield* currentDate
        const id = newUuid()
        const row = rowToDb(dialect, encodeSavedSearch({ id, created: now, updated: now, name: input.name, filters: input.filters }))
        const rows = yield* sql`INSERT INTO saved_search ${sql.insert(row)}
          ON CONFLICT (name) DO UPDATE SET filters = excluded.filters, updated = excluded.updated RETURNING *`
        const value = decodeSavedSearch(rows[0] as Record<string, any>)
        return { value, created: value.id === id }
      })

    const get = (id: string) =>
      Effect.flatMap(sql`SELECT * FROM saved_search WHERE id = ${id}`, firstOrNotFound("Saved search", id, decodeSavedSearch))

    const filter = (request: typeof SavedSearchFilterRequest.Type) =>
      Effect.map(
        sql`SELECT * FROM saved_search ORDER BY name LIMIT ${request.limit} OFFSET ${request.offset}`,
        (rows) => rows.map(decodeSavedSearch)
      )

    const remove = (id: string) =>
      Effect.flatMap(sql`DELETE FROM saved_search WHERE id = ${id} RETURNING id`, touchedOrNotFound("Saved search", id))

    return { upsert, get, filter, delete: remove } as const
  })
}) {}
