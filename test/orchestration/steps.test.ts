/** Steps driven two ways: by Effect and synchronously — the same result, the same failures, and a clear defect for an Effect that would wait. */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Option, Runtime } from "effect"
import { runStepsSync, type Steps, toEffect } from "../../src/orchestration/steps.js"

class Offset extends Context.Tag("test/Offset")<Offset, number>() {}
class Boom extends Error {}

function* add(a: number): Steps<number, string, Offset> {
  const offset = yield* Offset
  const doubled = yield* Effect.succeed(a * 2)
  if (doubled < 0) return yield* Effect.fail("negative")
  return doubled + offset
}

function* nested(a: number): Steps<number, string, Offset> {
  let total = 0
  for (let i = 0; i < 3; i++) total += yield* add(a + i)
  return total
}

const runtime = Runtime.defaultRuntime.pipe(Runtime.provideService(Offset, 100))

describe("steps", () => {
  it("run synchronously, they give what Effect.gen gives", () => {
    expect(runStepsSync(nested(1), runtime)).toStrictEqual(Exit.succeed(2 + 4 + 6 + 300))
    expect(Effect.runSync(Effect.provideService(toEffect(() => nested(1)), Offset, 100))).toBe(312)
  })

  it("the first failure ends them, as in Effect.gen, and later steps do not run", () => {
    let after = false
    function* failing(): Steps<number, string, Offset> {
      yield* add(-1)
      after = true
      return 0
    }
    const exit = runStepsSync(failing(), runtime)
    expect(Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined).toBe("negative")
    expect(after).toBe(false)
  })

  it("an exception thrown by a step is a defect; one thrown and caught inside the steps is not", () => {
    function* throws(): Steps<number> {
      yield* Effect.void
      throw new Boom("thrown")
    }
    const exit = runStepsSync(throws(), Runtime.defaultRuntime)
    expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) && Cause.squash(exit.cause)).toBeInstanceOf(Boom)
    function* catches(): Steps<string> {
      try {
        yield* throws()
        return "not reached"
      } catch (e) {
        return e instanceof Boom ? "caught" : "other"
      }
    }
    expect(runStepsSync(catches(), Runtime.defaultRuntime)).toStrictEqual(Exit.succeed("caught"))
    expect(Effect.runSync(toEffect(catches))).toBe("caught")
  })

  it("a step that would wait is a defect, not a silent hang, and what it waited for never runs afterwards", async () => {
    let ranLater = false
    function* sleeps(): Steps<void> {
      yield* Effect.zipRight(Effect.sleep("10 millis"), Effect.sync(() => { ranLater = true }))
    }
    const exit = runStepsSync(sleeps(), Runtime.defaultRuntime)
    expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(ranLater).toBe(false)
  })
})
