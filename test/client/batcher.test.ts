/** The batcher: a lone call is sent at once; calls made together share a batch, within its item and weight limits. */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit } from "effect"

/** Lets the batcher's sender fibers run. */
const settle = Effect.sleep("20 millis")
import * as Batcher from "../../src/client/batcher.js"

/** A batcher whose sends are recorded and held until `release` is opened. */
const recording = (options: Partial<Batcher.BatcherOptions<number, number, string>> = {}) =>
  Effect.gen(function*() {
    const sent: Array<ReadonlyArray<number>> = []
    const release = yield* Deferred.make<void>()
    const call = yield* Batcher.make<number, number, string>({
      maxItems: 3,
      maxWeight: 100,
      weight: (n) => n,
      senders: 1,
      send: (items) =>
        Effect.gen(function*() {
          sent.push(items)
          yield* Deferred.await(release)
          if (items.includes(13)) return yield* Effect.fail("unlucky batch")
          return items.map((n) => (n % 2 === 0 ? Either.right(n * 10) : Either.left(`odd ${n}`)))
        }),
      ...options
    })
    return { call, sent, release }
  })

describe("batcher", () => {
  it.scopedLive("sends a lone call at once, and the calls made meanwhile together, at most maxItems per batch", () =>
    Effect.gen(function*() {
      const { call, sent, release } = yield* recording()
      const first = yield* Effect.fork(call(2))
      yield* settle
      expect(sent).toEqual([[2]])
      const rest = yield* Effect.fork(Effect.all([4, 6, 8, 10, 3].map((n) => Effect.either(call(n))), { concurrency: "unbounded" }))
      yield* settle
      yield* Deferred.succeed(release, undefined)
      expect(yield* first.await).toEqual(Exit.succeed(20))
      const answers = yield* rest.await
      expect(answers).toEqual(Exit.succeed([Either.right(40), Either.right(60), Either.right(80), Either.right(100), Either.left("odd 3")]))
      expect(sent).toEqual([[2], [4, 6, 8], [10, 3]])
    }))

  it.scopedLive("keeps a batch within maxWeight, though a heavier item goes alone", () =>
    Effect.gen(function*() {
      const { call, sent, release } = yield* recording({ maxItems: 10 })
      yield* Deferred.succeed(release, undefined)
      const blocker = yield* Effect.fork(call(0))
      const answers = yield* Effect.all([40, 50, 20, 150, 30].map((n) => call(n)), { concurrency: "unbounded" })
      yield* blocker.await
      expect(answers).toEqual([400, 500, 200, 1500, 300])
      for (const batch of sent) expect(batch.length === 1 || batch.reduce((a, b) => a + b, 0) <= 100).toBe(true)
      expect(sent.flat().sort((a, b) => a - b)).toEqual([0, 20, 30, 40, 50, 150])
    }))

  it.scopedLive("a failed send fails every call of its batch, and only those", () =>
    Effect.gen(function*() {
      const { call, sent, release } = yield* recording({ maxItems: 2 })
      const first = yield* Effect.fork(call(2))
      yield* settle
      const doomed = yield* Effect.fork(Effect.all([4, 13].map((n) => Effect.either(call(n))), { concurrency: "unbounded" }))
      yield* settle
      const later = yield* Effect.fork(call(6))
      yield* settle
      yield* Deferred.succeed(release, undefined)
      expect(yield* first.await).toEqual(Exit.succeed(20))
      expect(yield* doomed.await).toEqual(Exit.succeed([Either.left("unlucky batch"), Either.left("unlucky batch")]))
      expect(yield* later.await).toEqual(Exit.succeed(60))
      expect(sent).toEqual([[2], [4, 13], [6]])
    }))
})
