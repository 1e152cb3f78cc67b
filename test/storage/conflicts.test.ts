/** A transaction PostgreSQL gave up for another's sake (deadlock, serialization failure) is run again; other errors are not. */
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { isTransactionConflict, retryingConflicts } from "../../src/storage/conflicts.js"

const failingTimes = (times: number, code: string) => {
  let runs = 0
  const transaction = Effect.suspend(() => ++runs <= times ? Effect.fail(new SqlError({ cause: { code }, message: `failed with ${code}` })) : Effect.succeed("committed"))
  return { transaction, runs: () => runs }
}

describe("retryingConflicts", () => {
  it.live("runs a deadlocked (40P01) or unserializable (40001) transaction again until it commits", () =>
    Effect.gen(function*() {
      for (const code of ["40P01", "40001"]) {
        const t = failingTimes(2, code)
        expect(yield* retryingConflicts(t.transaction)).toBe("committed")
        expect(t.runs()).toBe(3)
      }
    }))

  it.live("gives up after four more runs, with the conflict as the error", () =>
    Effect.gen(function*() {
      const t = failingTimes(10, "40P01")
      const error = yield* Effect.flip(retryingConflicts(t.transaction))
      expect(isTransactionConflict(error)).toBe(true)
      expect(t.runs()).toBe(5)
    }))

  it.live("any other error fails at once", () =>
    Effect.gen(function*() {
      const t = failingTimes(1, "23505")
      expect(yield* Effect.flip(retryingConflicts(t.transaction))).toMatchObject({ _tag: "SqlError", message: "failed with 23505" })
      expect(t.runs()).toBe(1)
    }))
})
