/** Task caching by key: a live cache entry skips the body and returns the stored result; an expired one does not. */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { flow, task } from "../../src/index.js"
import { databases } from "../support/databases.js"
import { flowRunIdOf, sdkLayer, stateNames, taskRunsOf } from "../support/sdk.js"

describe.each(databases)("task caching on $name", (db) => {
  layer(sdkLayer(db), { excludeTestServices: true })((it) => {
    it.effect("a second run with the same key is Cached: the body does not run, the result is rehydrated from the store", () =>
      Effect.gen(function*() {
        let calls = 0
        const load = task({ name: "load", cacheKey: (rows: ReadonlyArray<number>) => `load-${rows.length}` }, async (rows: ReadonlyArray<number>) => {
          calls++
          return { total: rows.reduce((a, b) => a + b, 0), at: calls }
        })
        const f = flow({ name: "cached-etl" }, async ({ rows }: { rows: Array<number> }) => await load(rows))
        const first = yield* f({ rows: [1, 2, 3] })
        const second = yield* f({ rows: [4, 5, 6] })
        expect(calls).toBe(1)
        expect(first).toEqual({ total: 6, at: 1 })
        expect(second).toEqual({ total: 6, at: 1 })
        expect(second).not.toBe(first)
        const third = yield* f({ rows: [1, 2] })
        expect(third).toEqual({ total: 3, at: 2 })

        const state = yield* f.run({ rows: [7, 8, 9] })
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        expect(yield* stateNames("task_run", run!.id)).toEqual(["Pending", "Cached"])
        expect(run!.state).toMatchObject({ type: "COMPLETED", name: "Cached", state_details: { cache_key: "load-3" } })
        expect(calls).toBe(2)
      }))

    it.effect("Effect tasks are cached too, and a null key means no caching", () =>
      Effect.gen(function*() {
        let calls = 0
        const square = task({ name: "square", cacheKey: (n: number) => n > 0 ? `square-${n}` : null }, (n: number) =>
          Effect.sync(() => {
            calls++
            return n * n
          }))
        const f = flow({ name: "cached-effects" }, () =>
          Effect.gen(function*() {
            return [yield* square(3), yield* square(3), yield* square(-2), yield* square(-2)]
          }))
        expect(yield* f()).toEqual([9, 9, 4, 4])
        expect(calls).toBe(3)
      }))

    it.effect("an expired cache entry is not used: the body runs again", () =>
      Effect.gen(function*() {
        let calls = 0
        const t = task({ name: "short-lived", cacheKey: () => "short-lived", cacheExpiration: "150 millis" }, () => ++calls)
        const f = flow({ name: "cache-expiry" }, () => t())
        const state = yield* f.run()
        const [run] = yield* taskRunsOf(flowRunIdOf(state))
        const completed = run!.state!
        // The expiration is 150 ms after the body finished, which is a little before the Completed state was stored.
        const lifetime = completed.state_details.cache_expiration!.getTime() - completed.timestamp.getTime()
        expect(lifetime).toBeGreaterThan(50)
        expect(lifetime).toBeLessThanOrEqual(150)
        expect(yield* f()).toBe(1)
        expect(calls).toBe(1)
        // No clock to drive here: the orchestrator compares with real time, so wait the entry out.
        yield* Effect.sleep(Math.max(0, completed.state_details.cache_expiration!.getTime() - Date.now()) + 20)
        expect(yield* f()).toBe(2)
        expect(calls).toBe(2)
      }))
  })
})
