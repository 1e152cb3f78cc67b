/** Small helpers every repository shares: the current time, upsert results, not-found lookups and counts. */
import { Clock, Effect } from "effect"
import { ObjectNotFound } from "../../domain/errors.js"

/** The current time from `Clock` (tests drive it with TestClock). */
export const currentDate: Effect.Effect<Date> = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/** The outcome of a graceful create or an upsert: the stored object, and whether it is new (HTTP 201) or existed (200). */
export interface Upserted<A> {
  readonly value: A
  readonly created: boolean
}

/** The first row decoded, or `ObjectNotFound` naming the thing and the id that was looked up. */
export const firstOrNotFound = <A>(thing: string, id: string, decode: (row: Record<string, any>) => A) =>
(rows: ReadonlyArray<object>): Effect.Effect<A, ObjectNotFound> => {
  const row = rows[0]
  return row === undefined ? Effect.fail(new ObjectNotFound({ thing, id })) : Effect.succeed(decode(row as Record<string, any>))
}

/** Succeeds when a `... RETURNING id` statement touched a row, else `ObjectNotFound`. */
export const touchedOrNotFound = (thing: string, id: string) => (rows: ReadonlyArray<object>): Effect.Effect<void, ObjectNotFound> =>
  rows.length === 0 ? Effect.fail(new ObjectNotFound({ thing, id })) : Effect.void

/** Reads `count` from a `SELECT CAST(COUNT(*) AS INTEGER) AS count` result (pg may still hand back a string). */
export const countFrom = (rows: ReadonlyArray<object>): number => Number((rows[0] as { count?: unknown } | undefined)?.count ?? 0)
