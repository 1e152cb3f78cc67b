/**
 * Caching: a task whose result is cached by a key computed from its input, for an hour. The flow runs twice; the
 * second run's task run is Cached (its body does not run again) and hands back the stored result.
 * Run: npx tsx examples/caching.ts   (run it again within the hour: both runs are then Cached)
 */
import { Effect } from "effect"
import { flow, task } from "@orion-ts/orion"
import { report } from "./report.js"

let computed = 0

const exchangeRate = task({ name: "exchange-rate", cacheKey: (from: string, to: string) => `rate-${from}-${to}`, cacheExpiration: "1 hour" },
  (from: string, to: string) =>
    Effect.sync(() => {
      computed++
      return { from, to, rate: 0.92 }
    }))

export const convert = flow({ name: "caching" }, ({ amount }: { amount: number }) =>
  Effect.gen(function*() {
    const { rate } = yield* exchangeRate("USD", "EUR")
    return amount * rate
  }))

const first = await convert.run({ amount: 100 })
const second = await convert.run({ amount: 250 })
await report(first)
await report(second)
console.log(`the task body ran ${computed} time(s) for 2 flow runs`)
