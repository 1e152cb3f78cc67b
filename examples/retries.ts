/**
 * Retries with exponential back-off: a flaky task fails its first two attempts and succeeds on the third; each retry
 * waits twice as long as the one before (0.2 s, then 0.4 s, ±10 % jitter). Run: npx tsx examples/retries.ts
 */
import { Effect } from "effect"
import { flow, task } from "@orion-ts/orion"
import { report } from "./report.js"

let calls = 0

const fetchQuote = task({ name: "fetch-quote", retries: 3, retryDelay: { exponential: 0.2, jitter: 0.1 } }, (symbol: string) =>
  Effect.gen(function*() {
    calls++
    yield* Effect.log(`attempt ${calls} for ${symbol}`)
    if (calls < 3) return yield* Effect.fail(new Error(`quote service unavailable (attempt ${calls})`))
    return { symbol, price: 101.25 }
  }))

export const quotes = flow({ name: "retries" }, () =>
  Effect.gen(function*() {
    const quote = yield* fetchQuote("ACME")
    yield* Effect.log(`${quote.symbol} at ${quote.price}, after ${calls} attempts`)
    return quote
  }))

const state = await quotes.run()
await report(state)
