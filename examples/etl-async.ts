/**
 * The ETL flow of examples/etl-effect.ts in async style: plain async functions, `await` on task calls, the run's
 * logger from getRunLogger(). Run: npx tsx examples/etl-async.ts
 */
import { flow, getRunLogger, task } from "@orion-ts/orion"
import { report } from "./report.js"

interface Order { readonly id: number; readonly cents: number }

const extract = task({ name: "extract" }, async (n: number) => {
  getRunLogger().info(`extracting ${n} orders`)
  return Array.from({ length: n }, (_, i): Order => ({ id: i + 1, cents: (i + 1) * 1250 }))
})

const transform = task({ name: "transform" }, async (order: Order) => ({ id: order.id, euros: order.cents / 100 }))

const load = task({ name: "load" }, async (rows: ReadonlyArray<{ readonly id: number; readonly euros: number }>) => {
  const total = rows.reduce((sum, r) => sum + r.euros, 0)
  getRunLogger().info(`loaded ${rows.length} rows, ${total} EUR in all`)
  return total
})

export const etl = flow({ name: "etl-async" }, async ({ n }: { n: number }) => {
  const orders = await extract(n)                   // a task run; its result
  const rows = await transform.map(orders)          // one task run per order
  return load(rows)
})

const state = await etl.run({ n: 4 })
await report(state)
