/** Permits: the lock behind the SQLite connection and the event order, and a task runner's slots — waiters in turn, synchronous takers when free, no permit lost to interruption. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Permits } from "../../../runtime/internal/permits.js"

describe("Permits as a lock", () => {
  it("is taken at once when free, and refused to a synchronous taker while held", () => {
    const lock = new Permits(1)
    expect(lock.tryTake()).toBe(true)
    expect(lock.tryTake()).toBe(false)
    lock.release()
    expect(lock.tryTake()).toBe(true)
  })

  it.effect("hands itself to waiters in the order they came, each holding it alone", () =>
    Effect.gen(function*() {
      const lock = new Permits(1)
      const order: Array<string> = []
      lock.tryTake()
      const waiter = (name: string) => Effect.fork(lock.withPermit(Effect.sync(() => order.push(`${name} in`)).pipe(Effect.zipRight(Effect.yieldNow()), Effect.zipRight(Effect.sync(() => order.push(`${name} out`))))))
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
      const lock = new Permits(1)
      lock.tryTake()
      const gaveUp = yield* Effect.fork(lock.withPermit(Effect.void))
      const next = yield* Effect.fork(lock.withPermit(Effect.succeed("next")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(gaveUp)
      lock.release()
      expect(yield* Fiber.join(next)).toBe("next")
      expect(lock.tryTake()).toBe(true)
    }))

  it.effect("a holder's failure or interruption releases it", () =>
    Effect.gen(function*() {
      const lock = new Permits(1)
      yield* Effect.exit(lock.withPermit(Effect.fail("boom")))
      expect(lock.tryTake()).toBe(true)
      lock.release()
      const holder = yield* Effect.fork(lock.withPermit(Effect.never))
      yield* Effect.yieldNow()
      expect(lock.tryTake()).toBe(false)
      yield* Fiber.interrupt(holder)
      expect(lock.tryTake()).toBe(true)
    }))
})

describe("Permits as a limit", () => {
  it.effect("lets `count` holders in at once; the next waits until one gives its permit back", () =>
    Effect.gen(function*() {
      const permits = new Permits(2)
      expect(permits.tryTake()).toBe(true)
      expect(permits.tryTake()).toBe(true)
      expect(permits.tryTake()).toBe(false)
      const third = yield* Effect.fork(permits.take)
      yield* Effect.yieldNow()
      expect(third.unsafePoll()).toBeNull()
      permits.release()
      yield* Fiber.join(third)
      expect(permits.tryTake()).toBe(false)
      permits.release()
      expect(permits.tryTake()).toBe(true)
    }))

  it("refuses a count that is not a whole number of at least one", () => {
    expect(() => new Permits(0)).toThrow(/≥ 1/)
    expect(() => new Permits(1.5)).toThrow(/≥ 1/)
  })
})
