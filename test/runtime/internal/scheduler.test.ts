/** The flows' scheduler: one queue for every fiber, timers still served; a flow's fibers, its tasks' among them, run on it. */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Fiber, FiberRef } from "effect"
import { flow, task } from "../../../src/index.js"
import { flowScheduler, onFlowScheduler } from "../../../runtime/internal/scheduler.js"
import { databases } from "../../support/databases.js"
import { sdkLayer } from "../../support/sdk.js"

describe("the flows' scheduler", () => {
  it.live("runs ready fibers in turn and still lets a timer fire while some are always ready", () =>
    onFlowScheduler(Effect.gen(function*() {
      const turns: Array<string> = []
      const spin = (name: string) => Effect.forever(Effect.zipRight(Effect.sync(() => turns.push(name)), Effect.yieldNow()))
      const a = yield* Effect.fork(spin("a"))
      const b = yield* Effect.fork(spin("b"))
      // a timer callback, outside Effect: it fires only if the scheduler gives the event loop a turn
      const fired = yield* Effect.promise(() => new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 5)))
      yield* Fiber.interrupt(a)
      yield* Fiber.interrupt(b)
      expect(fired).toBe(true)
      expect(turns.filter((t) => t === "a").length).toBeGreaterThan(10)
      expect(turns.filter((t) => t === "b").length).toBeGreaterThan(10)
    })))

  const sqlite = databases.find((d) => d.name === "sqlite")!
  layer(sdkLayer(sqlite), { excludeTestServices: true })((it) => {
    it.effect("a flow's body and its task runs' bodies run on it", () =>
      Effect.gen(function*() {
        const schedulerHere = Effect.map(FiberRef.get(FiberRef.currentScheduler), (s) => s === flowScheduler)
        const probe = task({ name: "scheduler-probe" }, () => schedulerHere)
        const f = flow({ name: "scheduler-flow" }, () => Effect.zip(schedulerHere, Effect.zip(probe(), Effect.flatMap(probe.submit(), (fut) => fut.result()))))
        expect(yield* f()).toEqual([true, [true, true]])
      }))
  })
})
