import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { Once } from "../../../runtime/internal/once.js"

describe("Once", () => {
  it.effect("every waiter, before and after, gets the first result; later results change nothing", () =>
    Effect.gen(function*() {
      const once = new Once<number, string>()
      expect(once.poll()).toBeUndefined()
      const early = yield* Effect.fork(once.await)
      const early2 = yield* Effect.fork(once.await)
      yield* Effect.yieldNow()
      expect(early.unsafePoll()).toBeNull()
      expect(once.complete(Exit.succeed(1))).toBe(true)
      expect(once.complete(Exit.fail("late"))).toBe(false)
      expect(yield* Fiber.join(early)).toBe(1)
      expect(yield* Fiber.join(early2)).toBe(1)
      expect(yield* once.await).toBe(1)
      expect(once.poll()).toEqual(Exit.succeed(1))
    }))

  it.effect("a failure reaches the waiters as a failure; an interrupted waiter stops waiting and the others still get it", () =>
    Effect.gen(function*() {
      const once = new Once<number, string>()
      const leaving = yield* Effect.fork(once.await)
      const staying = yield* Effect.fork(once.await)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(leaving)
      once.complete(Exit.fail("no"))
      expect(yield* Effect.flip(Fiber.join(staying))).toBe("no")
      expect(Exit.isInterrupted(yield* Fiber.await(leaving))).toBe(true)
    }))
})
