/** The orchestrator's pipelined PostgreSQL transactions: steps that stand or are undone alone, commits that report failure. */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Runtime } from "effect"
import { openPipelined, PgPipelinePool, PipelinedStepCannotWait } from "../../src/storage/pg-pipeline.js"
import { databases } from "../support/databases.js"

const pg = databases.find((d) => d.name === "pg")

/** What a failed exit says, with the cause of its SqlError. */
const failureOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = Cause.squash(exit.cause) as { message?: string; cause?: { message?: string } }
  return `${error.message}: ${error.cause?.message}`
}
const pipelinePool = Effect.map(Effect.serviceOption(PgPipelinePool), Option.getOrThrow)

describe.skipIf(pg === undefined)("pipelined transactions on PostgreSQL", () => {
  const layer = Layer.provideMerge(
    Layer.effectDiscard(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE piped (id INT PRIMARY KEY, note TEXT)`)),
    pg?.layer() ?? Layer.empty as never
  )
  const rows = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ id: number }>`SELECT id FROM piped ORDER BY id`)
  const ids = Effect.map(rows, (rs) => rs.map((r) => r.id))
  const clear = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM piped`)
  const insert = (id: number) => ["INSERT INTO piped (id) VALUES ($1) RETURNING id", [id]] as const

  it.layer(layer)((it) => {
    it.effect("two settled steps commit together, and each answer reaches its check before the step settles", () =>
      Effect.gen(function*() {
        yield* clear
        const tx = yield* openPipelined(yield* pipelinePool)
        const seen: Array<unknown> = []
        expect(Exit.isSuccess(tx.step(() => {
          tx.send(...insert(1), (r) => seen.push(r.rows[0]!.id))
          tx.send(...insert(2), (r) => seen.push(r.rows[0]!.id))
          return Exit.void
        }))).toBe(true)
        expect(seen).toEqual([])
        expect(Exit.isSuccess(yield* tx.settle)).toBe(true)
        expect(seen).toEqual([1, 2])
        tx.step(() => Exit.succeed(tx.send(...insert(3))))
        expect(Exit.isSuccess(yield* tx.settle)).toBe(true)
        expect(yield* ids).toEqual([]) // not committed yet: another connection sees nothing
        expect(Exit.isSuccess(yield* tx.commit)).toBe(true)
        expect(yield* ids).toEqual([1, 2, 3])
      }))

    it.effect("a later step whose check refuses an answer, or whose statement fails, is undone alone", () =>
      Effect.gen(function*() {
        yield* clear
        const tx = yield* openPipelined(yield* pipelinePool)
        tx.step(() => Exit.succeed(tx.send(...insert(1))))
        expect(Exit.isSuccess(yield* tx.settle)).toBe(true)
        tx.step(() => {
          tx.send(...insert(2))
          tx.send("UPDATE piped SET note = 'x' WHERE id = 99 RETURNING id", [], (r) => {
            if (r.rows.length === 0) throw new Error("the row moved on")
          })
          return Exit.void
        })
        const refused = yield* tx.settle
        expect(failureOf(refused)).toMatch(/the row moved on/)
        tx.step(() => Exit.succeed(tx.send(...insert(1)))) // a duplicate key: the statement fails
        const failed = yield* tx.settle
        expect(failureOf(failed)).toMatch(/duplicate key/)
        tx.step(() => Exit.succeed(tx.send(...insert(4))))
        expect(Exit.isSuccess(yield* tx.settle)).toBe(true)
        expect(Exit.isSuccess(yield* tx.commit)).toBe(true)
        expect(yield* ids).toEqual([1, 4])
      }))

    it.effect("a step whose work failed is undone without waiting for its answers", () =>
      Effect.gen(function*() {
        yield* clear
        const tx = yield* openPipelined(yield* pipelinePool)
        tx.step(() => Exit.succeed(tx.send(...insert(1))))
        yield* tx.settle
        const exit = tx.step(() => {
          tx.send(...insert(1)) // would fail, but the work failed first: its answer no longer matters
          return Exit.fail("the work failed")
        })
        expect(exit).toEqual(Exit.fail("the work failed"))
        expect(Exit.isSuccess(yield* tx.commit)).toBe(true)
        expect(yield* ids).toEqual([1])
      }))

    it.effect("a COMMIT after a statement that failed unseen fails, writes nothing, and the connection serves the next transaction", () =>
      Effect.gen(function*() {
        yield* clear
        const pool = yield* pipelinePool
        const tx = yield* openPipelined(pool)
        tx.step(() => {
          tx.send(...insert(1))
          tx.send("SELECT 1 / 0", [])
          tx.send(...insert(2))
          return Exit.void
        })
        const committed = yield* tx.commit
        expect(failureOf(committed)).toMatch(/division by zero/)
        expect(yield* ids).toEqual([])
        // The pool has one connection: had it not been given back, this would wait forever.
        const next = yield* openPipelined(pool)
        next.step(() => Exit.succeed(next.send(...insert(5))))
        expect(Exit.isSuccess(yield* next.commit)).toBe(true)
        expect(yield* ids).toEqual([5])
      }))

    it.effect("a first step rolled back leaves nothing; SQL client queries inside a step are refused, not run elsewhere", () =>
      Effect.gen(function*() {
        yield* clear
        const sql = yield* SqlClient.SqlClient
        const tx = yield* openPipelined(yield* pipelinePool)
        const runtime = yield* Effect.runtime<never>()
        const exit = tx.step(() => {
          tx.send(...insert(1))
          return Runtime.runSyncExit(Runtime.make({ ...runtime, context: tx.inTransaction as never }))(sql`INSERT INTO piped (id) VALUES (7)`)
        })
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBeInstanceOf(PipelinedStepCannotWait)
        yield* tx.rollback
        expect(yield* ids).toEqual([])
      }))
  })
})
