/** The loop-service pattern (spec §5.1): a pass every loop from the start of the last, failures reported and survived. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref, TestClock } from "effect"
import { loopService } from "../../services/loop.js"
import type { ServiceReporter } from "../../services/service.js"

describe("a loop service", () => {
  it.effect("runs a pass every loop; a failed pass is reported and the next one still comes; next due is the next pass", () =>
    Effect.gen(function*() {
      const passes = yield* Ref.make(0)
      const seen = yield* Ref.make<Array<string>>([])
      const note = (s: string) => Ref.update(seen, (a) => [...a, s])
      const report: ServiceReporter = {
        loopDone: (ms) => note(`loop ${ms}`),
        nextDue: (at) => note(`next ${at?.getTime()}`),
        error: (message) => note(`error ${message}`)
      }
      const service = loopService({
        name: "test",
        description: "counts",
        loopSeconds: 10,
        runOnce: () =>
          Effect.flatMap(Ref.updateAndGet(passes, (n) => n + 1), (n) =>
            n === 2 ? Effect.fail(new Error("database away")) : Effect.zipRight(Effect.sleep("2 seconds"), Effect.succeed("")))
      })
      const fiber = yield* Effect.fork(service.run(report))
      yield* TestClock.adjust("2 seconds")
      expect(yield* Ref.get(seen)).toEqual(["loop 2000", "next 10000"])
      yield* TestClock.adjust("8 seconds")
      expect(yield* Ref.get(passes)).toBe(2)
      expect((yield* Ref.get(seen)).slice(2)).toEqual(["error database away", "next 20000"])
      yield* TestClock.adjust("12 seconds")
      expect(yield* Ref.get(passes)).toBe(3)
      expect((yield* Ref.get(seen)).slice(4)).toEqual(["loop 2000", "next 30000"])
      yield* Fiber.interrupt(fiber)
    }))
})
