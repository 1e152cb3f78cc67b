/** The lock behind the SQLite connection and the event order: waiters in turn, synchronous takers when free, no lock lost to interruption. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Lock } from "../../src/storage/lock.js"

describe("Lock", () => {
  it("is taken at once when free, and refused to a synchronous taker while held", () => {
    const lock = new Lock()
    expect(lock.tryTake()).toBe(true)
    expect(lock.tryTake()).toBe(false)
    lock.release()
    expect(lock.tryTake()).toBe(true)
  })

  it.effect("hands itself to waiters in the order they came, each holding it alone", () =>
    Effect.gen(function*() {
      const lock = new Lock()
      const order: Array<string> = []
      lock.tryTake()
      const waiter = (name: string) => Effect.fork(lock.withLock(Effect.sync(() => order.push(`${name} in`)).pipe(Effect.zipRight(Effect.yieldNow()), Effect.zipRight(Effect.sync(() => order.push(`${name} out`))))))
      const a = yield* waiter("a")
      const b = yield* waiter("b")
      yield* Effect.yieldNow()
      expect(order).toEqual([])
      expect(lock.tryTake()).toBe(false)
      lock.release()
      yield* Fiber.join(a)
      yield* Fiber.join(b)
      expect(order).toEqual(["a in", "a out", "b in", "b out"])
      expect(lock.tryTake()).toBe(true)
    }))

  it.effect("a waiter interrupted leaves the line; the lock goes to the next one, then is free again", () =>
    Effect.gen(function*() {
      const lock = new Lock()
      lock.tryTake()
      const gaveUp = yield* Effect.fork(lock.withLock(Effect.void))
      const next = yield* Effect.fork(lock.withLock(Effect.succeed("next")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(gaveUp)
      lock.release()
      expect(yield* Fiber.join(next)).toBe("next")
      expect(lock.tryTake()).toBe(true)
    }))

  it.effect("a holder's failure or interruption releases it", () =>
    Effect.gen(function*() {
      const lock = new Lock()
      yield* Effect.exit(lock.withLock(Effect.fail("boom")))
      expect(lock.tryTake()).toBe(true)
      lock.release()
      const holder = yield* Effect.fork(lock.withLock(Effect.never))
      yield* Effect.yieldNow()
      expect(lock.tryTake()).toBe(false)
      yield* Fiber.interrupt(holder)
      expect(lock.tryTake()).toBe(true)
    }))
})
