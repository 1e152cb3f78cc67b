/**
 * Mapping: one task run per element — over a list, with a broadcast argument (`unmapped`), and over the future of
 * another task run's list. Run: npx tsx examples/mapping.ts
 */
import { Effect } from "effect"
import { flow, task, unmapped } from "@orion-ts/orion"
import { report } from "./report.js"

const numbers = task({ name: "numbers" }, (n: number) => Effect.succeed(Array.from({ length: n }, (_, i) => i + 1)))
const square = task({ name: "square" }, (x: number) => Effect.succeed(x * x))
const scale = task({ name: "scale" }, (x: number, factor: number) => Effect.succeed(x * factor))

export const mapping = flow({ name: "mapping" }, () =>
  Effect.gen(function*() {
    const squares = yield* square.map([1, 2, 3])                 // 3 task runs
    const scaled = yield* scale.map(squares, unmapped(10))         // 3 more; 10 goes to each
    const listed = yield* numbers.submit(4)                        // a future of [1, 2, 3, 4]
    const more = yield* square.map(listed)                         // mapped over the future's result: 4 task runs
    yield* Effect.log(`squares ${squares}, scaled ${scaled}, more ${more}`)
    return { squares, scaled, more }
  }))

const state = await mapping.run()
await report(state)
