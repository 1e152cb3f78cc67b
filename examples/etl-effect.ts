/**
 * ETL in Effect style: extract rows, transform each one in its own task run (a mapped task), load them.
 * Run: npx tsx examples/etl-effect.ts   (same flow in async style: examples/etl-async.ts)
 */
import { Effect, Schema } from "effect"
import { flow, task } from "@orion-ts/orion"
import { report } from "./report.js"

interface Order { readonly id: number; readonly cents: number }

const extract = task({ name: "extract" }, (n: number) =>
  Effect.gen(function*() {
    yield* Effect.log(`extracting ${n} orders`)
    return Array.from({ length: n }, (_, i): Order => ({ id: i + 1, cents: (i + 1) * 1250 }))
  }))

const transform = task({ name: "transform" }, (order: Order) =>
  Effect.succeed({ id: order.id, euros: order.cents / 100 }))

const load = task({ name: "load" }, (rows: ReadonlyArray<{ readonly id: number; readonly euros: number }>) =>
  Effect.gen(function*() {
    const total = rows.reduce((sum, r) => sum + r.euros, 0)
    yield* Effect.log(`loaded ${rows.length} rows, ${total} EUR in all`)
    return total
  }))

export const etl = flow({ name: "etl-effect", parameters: Schema.Struct({ n: Schema.Number }) }, ({ n }) =>
  Effect.gen(function*() {
    const orders = yield* extract(n)               // a task run; its result
    const rows = yield* transform.map(orders)       // one task run per order
    return yield* load(rows)
  }))

const state = await etl.run({ n: 4 })
await report(state)
