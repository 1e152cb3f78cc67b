/**
 * Tag concurrency limits in a flow: a task run that finds its tag's slots full waits, and starts as soon as a slot is
 * given back — not after the WAIT's 30 s.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { OrionClient } from "../../src/client/orion-client.js"
import { flow, task } from "../../src/index.js"
import { ConcurrencyLimitRepository, Repositories } from "../../src/storage/repositories/index.js"
import { databases } from "../support/databases.js"
import { sdkLayer, taskRunsOf } from "../support/sdk.js"

describe.each(databases)("concurrency slots in a flow, on $name", (db) => {
  layer(Layer.provideMerge(Repositories, sdkLayer(db)), { excludeTestServices: true })((it) => {
    it.effect("a task run waiting for its tag's only slot starts when the task run holding it ends", () =>
      Effect.gen(function*() {
        const tag = `db-${Math.random().toString(36).slice(2)}`
        yield* (yield* ConcurrencyLimitRepository).upsert({ tag, concurrency_limit: 1 })
        const query = task({ name: "query", tags: [tag] }, async (ms: number) => {
          await new Promise((resolve) => setTimeout(resolve, ms))
          return ms
        })
        const f = flow({ name: "two-queries" }, async () => {
          const a = await query.submit(1_500)
          const b = await query.submit(10)
          return [await a.result(), await b.result()]
        })
        const state = yield* f.run()
        expect(state.type).toBe("COMPLETED")
        const client = yield* OrionClient
        const runs = yield* taskRunsOf(state.state_details.flow_run_id!)
        expect(runs).toHaveLength(2)
        const histories = yield* Effect.forEach(runs, (r) => client.readStates({ kind: "task_run", id: r.id }))
        // The run that waited is the one whose Running came after the other's Completed.
        const [first, second] = [...histories].sort((x, y) =>
          x.find((s) => s.type === "RUNNING")!.timestamp.getTime() - y.find((s) => s.type === "RUNNING")!.timestamp.getTime())
        const firstEnd = first!.find((s) => s.type === "COMPLETED")!.timestamp.getTime()
        const secondStart = second!.find((s) => s.type === "RUNNING")!.timestamp.getTime()
        expect(secondStart).toBeGreaterThanOrEqual(firstEnd)
        // Woken by the slot given back, well before the WAIT's 30 s delay would have run out.
        expect(secondStart - firstEnd).toBeLessThan(10_000)
      }), 60_000)
  })
})
