/** The interval arithmetic behind run history (spec §4.5); its Schemas are in the domain. */
import { MAX_HISTORY_INTERVALS } from "../../domain/history.js"

/** The latest instant a `Timestamp` holds: no interval ends after it, however long its step. */
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** Consecutive intervals `[start + k·step, start + (k+1)·step)` while their start is before `end`, at most 500. */
export const historyIntervals = (start: Date, end: Date, stepSeconds: number): Array<{ readonly start: Date; readonly end: Date }> => {
  const stepMs = stepSeconds * 1000
  const out: Array<{ start: Date; end: Date }> = []
  for (let k = 0; k < MAX_HISTORY_INTERVALS; k++) {
    const from = k === 0 ? start.getTime() : start.getTime() + k * stepMs
    if (from >= end.getTime()) break
    out.push({ start: new Date(from), end: new Date(Math.min(from + stepMs, LATEST)) })
  }
  return out
}
