/**
 * The CPU-bound task of examples/parallel.ts, in a module of its own: the parallel() runner's worker threads import
 * this module to find the task, so it must define tasks at its top level and must not run flows when imported.
 */
import { threadId } from "node:worker_threads"
import { getRunLogger, task } from "@orion-ts/orion"

const isPrime = (n: number): boolean => {
  if (n < 2) return false
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false
  return true
}

/** Counts the primes in [from, to) by trial division: pure CPU work, which would block the main thread. */
export const countPrimes = task({ name: "count-primes" }, (from: number, to: number) => {
  let count = 0
  for (let n = from; n < to; n++) if (isPrime(n)) count++
  getRunLogger().info(`${count} primes in [${from}, ${to}) on worker thread ${threadId}`)
  return count
})
