/**
 * Keeps the V8 heap of a process that runs flows (or `orion start`) near its live set. V8 lets the old generation
 * grow to up to ~4× what survived its last full collection; most of that is garbage of finished runs held as RSS.
 * At 1.5× a flow of 10,000 task runs peaks ~30 % lower at the same speed (bench/RESULTS.md).
 */
import * as v8 from "node:v8"
import { Effect } from "effect"
import { heapGrowingPercent } from "../src/settings.js"

/** The V8 flag to set for `percent`, or undefined: 0 keeps V8's policy, and a flag the process was started with wins. */
export const heapFlag = (percent: number, execArgv: ReadonlyArray<string>, nodeOptions: string | undefined): string | undefined => {
  const own = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))
  return percent > 0 && !own ? `--heap-growing-percent=${percent}` : undefined
}

let tuned = false

/** Applies `ORION_HEAP_GROWING_PERCENT` once per process (an invalid value warns and keeps the default). */
export const tuneHeap: Effect.Effect<void> = Effect.suspend(() => {
  if (tuned) return Effect.void
  tuned = true
  return Effect.flatMap(
    Effect.catchAll(heapGrowingPercent, (e) => Effect.as(Effect.logWarning(`${String(e)}; using 50`), 50)),
    (percent) => Effect.sync(() => {
      const flag = heapFlag(percent, process.execArgv, process.env.NODE_OPTIONS)
      if (flag !== undefined) v8.setFlagsFromString(flag)
    })
  )
})
