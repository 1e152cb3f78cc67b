/**
 * PostgreSQL ends one of two transactions that deadlock (40P01) or cannot be serialized (40001), and asks the client
 * to run it again: a transaction wrapped here is, a few times, after a short jittered pause.
 */
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Schedule } from "effect"

const retryable = new Set(["40P01", "40001"])

/** Whether PostgreSQL gave this transaction up for another's sake (deadlock or serialization failure). */
export const isTransactionConflict = (e: unknown): boolean => {
  if (!(e instanceof SqlError)) return false
  const code = (e.cause as { readonly code?: unknown } | undefined)?.code
  return typeof code === "string" && retryable.has(code)
}

/** Runs `transaction` again (up to 4 more times) when PostgreSQL gave it up for another's sake. */
export const retryingConflicts = <A, E, R>(transaction: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(transaction, {
    while: isTransactionConflict,
    schedule: Schedule.intersect(Schedule.jittered(Schedule.exponential("5 millis")), Schedule.recurs(4))
  })
