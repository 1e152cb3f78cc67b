/** Flows in the database: graceful create by unique name, reads, filters, tag updates and deletes (spec §1.1, §4.4). */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { ObjectNotFound } from "../../domain/errors.js"
import { Flow, type FlowCreate, type FlowUpdate } from "../../domain/flow.js"
import type { CountRequest, FlowFilterRequest } from "../../domain/filters.js"
import { newUuid } from "../../domain/primitives.js"
import { decodeRow, rowToDb } from "../codec.js"
import { Columns } from "../tables.js"
import { Database } from "../database.js"
import { flowsWhere } from "../filters.js"
import { countFrom, currentDate, firstOrNotFound, touchedOrNotFound, type Upserted } from "./common.js"

const decodeFlow = decodeRow(Flow, Columns.flow)
const encodeFlow = Schema.encodeSync(Flow)

export class FlowRepository extends Effect.Service<FlowRepository>()("orion/FlowRepository", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dialect } = yield* Database

    const get = (id: string) => Effect.flatMap(sql`SELECT * FROM flow WHERE id = ${id}`, firstOrNotFound("Flow", id, decodeFlow))

    const getByName = (name: string) =>
      Effect.flatMap(sql`SELECT * FROM flow WHERE name = ${name}`, firstOrNotFound("Flow", name, decodeFlow))

    /** Creates the flow, or returns the existing flow of that name unchanged. */
    const create = (input: FlowCreate): Effect.Effect<Upserted<Flow>, SqlError> =>
      Effect.gen(function*() {
        const now = yield* currentDate
        const row = rowToDb(dialect, encodeFlow({ id: newUuid(), created: now, updated: now, name: input.name, tags: input.tags }))
        const inserted = yield* sql`INSERT INTO flow ${sql.insert(row)} ON CONFLICT (name) DO NOTHING RETURNING *`
        if (inserted[0] !== undefined) return { value: decodeFlow(inserted[0]), created: true }
        // Deleted between the conflict and this read: a race with a concurrent delete, not a caller error.
        const existing = yield* getByName(input.name).pipe(Effect.orDieWith((e) => new Error(`Flow "${input.name}" vanished during create: ${e.message}`)))
        return { value: existing, created: false }
      })

    const filter = (request: FlowFilterRequest) =>
      Effect.map(
        sql`SELECT f.* FROM flow AS f WHERE ${flowsWhere(sql, request)} ORDER BY f.name LIMIT ${request.limit} OFFSET ${request.offset}`,
        (rows) => rows.map(decodeFlow)
      )

    const count = (request: CountRequest) =>
      Effect.map(sql`SELECT CAST(COUNT(*) AS INTEGER) AS count FROM flow AS f WHERE ${flowsWhere(sql, request)}`, countFrom)

    /** Applies the given fields (only tags exist) and bumps `updated`. */
    const update = (id: string, changes: FlowUpdate): Effect.Effect<void, ObjectNotFound | SqlError> =>
      Effect.gen(function*() {
        const now = yield* currentDate
        const fields = rowToDb(dialect, { updated: now, ...(changes.tags !== undefined ? { tags: changes.tags } : {}) })
        yield* Effect.flatMap(sql`UPDATE flow SET ${sql.update(fields)} WHERE id = ${id} RETURNING id`, touchedOrNotFound("Flow", id))
      })

    /** Deletes the flow; its deployments and runs go with it (foreign-key cascades). */
    const remove = (id: string) =>
      Effect.flatMap(sql`DELETE FROM flow WHERE id = ${id} RETURNING id`, touchedOrNotFound("Flow", id))

    return { create, get, getByName, filter, count, update, delete: remove } as const
  })
}) {}
