/** What every handler shares: JSON responses with a chosen status, and infrastructure failures turned into API errors. */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Cause, Effect, Predicate, Schema } from "effect"
import type { SqlError } from "@effect/sql/SqlError"
import { Conflict } from "../../domain/errors.js"
import type { Upserted } from "../../storage/repositories/common.js"
import { describeCause } from "../../storage/database.js"
import type { OrchestrationFailed } from "../../../runtime/orchestrator.js"
import { ServiceUnavailable } from "../errors.js"

/** `value` encoded by `schema` as a JSON response with `status`. */
export const json = <A, I>(schema: Schema.Schema<A, I>, value: A, status: number) =>
  Effect.map(Effect.orDie(Schema.encode(schema)(value)), (body) => HttpServerResponse.unsafeJson(body, { status }))

/** A graceful create's answer: 201 when the object is new, 200 when it existed (spec §4 "General rules"). */
export const createdOrFound = <A, I>(schema: Schema.Schema<A, I>, upserted: Upserted<A>) =>
  json(schema, upserted.value, upserted.created ? 201 : 200)

type Infrastructure = SqlError | OrchestrationFailed

const isInfrastructure = (e: unknown): e is Infrastructure =>
  Predicate.isTagged(e, "SqlError") || Predicate.isTagged(e, "OrchestrationFailed")

/** Unique and foreign-key violations: the request clashed with data written concurrently, not a broken database. */
const isConstraintViolation = (e: SqlError) => {
  const cause = e.cause as { code?: unknown } | undefined
  const code = String(cause?.code ?? "")
  return code === "23505" || code === "23503" || code.startsWith("SQLITE_CONSTRAINT")
}

const toApiError = (e: Infrastructure): Conflict | ServiceUnavailable => {
  if (e._tag === "OrchestrationFailed") {
    return /kept changing|exists but could not be read/.test(e.message)
      ? new Conflict({ detail: e.message })
      : new ServiceUnavailable({ detail: e.message })
  }
  const reason = describeCause(Cause.fail(e))
  return isConstraintViolation(e)
    ? new Conflict({ detail: `The request conflicts with existing data: ${reason}` })
    : new ServiceUnavailable({ detail: `The database could not serve the request: ${reason}` })
}

/** Database and orchestrator failures as 409 (a conflict with concurrent writes) or 503 (nothing was written). */
export const lift = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, Infrastructure> | Conflict | ServiceUnavailable, R> =>
  Effect.catchIf(effect, isInfrastructure, (e) => {
    const error = toApiError(e)
    return Effect.zipRight(Effect.logWarning(`request refused (${error._tag}): ${error.detail}`), Effect.fail(error))
  }) as Effect.Effect<A, Exclude<E, Infrastructure> | Conflict | ServiceUnavailable, R>

/** For routes that only read, or whose writes cannot clash with others (schema changes): every failure of the database is a 503. */
export const liftRead = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, Infrastructure> | ServiceUnavailable, R> =>
  Effect.catchIf(effect, isInfrastructure, (e) => {
    const error = new ServiceUnavailable({ detail: e._tag === "OrchestrationFailed" ? e.message : `The database could not serve the request: ${describeCause(Cause.fail(e))}` })
    return Effect.zipRight(Effect.logWarning(`request refused (${error._tag}): ${error.detail}`), Effect.fail(error))
  }) as Effect.Effect<A, Exclude<E, Infrastructure> | ServiceUnavailable, R>
