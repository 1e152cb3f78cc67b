/**
 * Tunes V8's heap in a process that runs flows (or `orion start`): it keeps the heap near its live set, and it keeps
 * V8 from allocating short-lived objects straight into the old generation.
 *
 * * Growth: V8 lets the old generation grow to up to ~4× what survived its last full collection; most of that is
 *   garbage of finished runs held as RSS. At 1.5× a flow of 10,000 task runs peaks ~30 % lower at the same speed.
 * * Pretenuring: V8 watches how many objects of each allocation site survive a scavenge and, past a threshold,
 *   allocates that site's objects in the old generation directly. Effect's fibers trip it (a fiber's objects are
 *   alive while it waits, which is when scavenges happen to look), and then every pretenured object that dies keeps
 *   the young objects it points to alive through every scavenge until the next full collection: they are copied,
 *   then promoted, and collected late. Off, a scavenge copies a third less in a sequential flow and pauses 25–30 %
 *   shorter; a fork-and-await loop of plain Effect runs 1.6–2× faster (bench/RESULTS.md, 2026-12-06).
 *
 * A flag the process was started with (`node --allocation-site-pretenuring …`, NODE_OPTIONS) wins over either.
 *
 * Only in processes Orion starts itself (`orion start`, an agent's executors, benchmarks) unless `ORION_TUNE_HEAP` says otherwise: a user's
 * script that runs a flow keeps V8's flags as its author set them, unless it sets `ORION_TUNE_HEAP=true`.
 */
import * as v8 from "node:v8"
import { Effect, Option } from "effect"
import { heapGrowingPercent, tuneHeapSetting } from "../../src/settings.js"

const startedWith = (pattern: RegExp, execArgv: ReadonlyArray<string>, nodeOptions: string | undefined) =>
  [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((arg) => pattern.test(arg))

/** The V8 flags to set for a growing `percent`: 0 keeps V8's growth policy; a flag the process was started with wins. */
export const heapFlags = (percent: number, execArgv: ReadonlyArray<string>, nodeOptions: string | undefined): Array<string> => {
  const flags: Array<string> = []
  if (percent > 0 && !startedWith(/^--heap[-_]growing[-_]percent\b/, execArgv, nodeOptions)) flags.push(`--heap-growing-percent=${percent}`)
  if (!startedWith(/^--(no[-_])?allocation[-_]site[-_]pretenuring\b/, execArgv, nodeOptions)) flags.push("--no-allocation-site-pretenuring")
  return flags
}

let tuned = false

/** Applies the flags once per process (an invalid `ORION_HEAP_GROWING_PERCENT` warns and keeps the default). */
const applyFlags: Effect.Effect<void> = Effect.suspend(() => {
  if (tuned) return Effect.void
  tuned = true
  return Effect.flatMap(
    Effect.catchAll(heapGrowingPercent, (e) => Effect.as(Effect.logWarning(`${String(e)}; using 50`), 50)),
    (percent) => Effect.sync(() => {
      for (const flag of heapFlags(percent, process.execArgv, process.env.NODE_OPTIONS)) v8.setFlagsFromString(flag)
    })
  )
})

/** `ORION_TUNE_HEAP`, read leniently: an invalid value warns and counts as unset. */
const tuneSetting = Effect.catchAll(tuneHeapSetting, (e) => Effect.as(Effect.logWarning(`${String(e)}; ignored`), Option.none<boolean>()))

/** For a process Orion starts itself (`orion start`, an agent's executor, a benchmark): tunes the heap unless `ORION_TUNE_HEAP=false`. */
export const tuneHeap: Effect.Effect<void> = Effect.flatMap(tuneSetting, (setting) =>
  Option.getOrElse(setting, () => true) ? applyFlags : Effect.void)

/** For a user's process (a script running flows): tunes the heap only when `ORION_TUNE_HEAP=true` asks for it. */
export const tuneHeapIfAsked: Effect.Effect<void> = Effect.flatMap(tuneSetting, (setting) =>
  Option.getOrElse(setting, () => false) ? applyFlags : Effect.void)
