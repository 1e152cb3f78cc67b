/**
 * CPU-bound work on worker threads: a flow on the parallel() runner counts the primes below 2,000,000 in 8 chunks.
 * Each chunk is a task run whose body runs on a worker thread (one per core by default), while its states, result and
 * logs are handled in this thread. The task lives in parallel-tasks.ts, a module that runs no flow when imported.
 * Run: npx tsx examples/parallel.ts
 */
import { flow, getRunLogger, parallel } from "@orion-ts/orion"
import { countPrimes } from "./parallel-tasks.js"
import { report } from "./report.js"

const below = 2_000_000
const chunks = 8

export const primes = flow({ name: "parallel-primes", taskRunner: parallel() }, async () => {
  const size = below / chunks
  const starts = Array.from({ length: chunks }, (_, i) => i * size)
  const counts = await countPrimes.map(starts, starts.map((start) => start + size))   // one task run per chunk
  const total = counts.reduce((sum, n) => sum + n, 0)
  getRunLogger().info(`${total} primes below ${below}`)
  return total
})

const state = await primes.run()
await report(state)
