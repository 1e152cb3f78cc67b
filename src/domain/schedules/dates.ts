/**
 * The dates a deployment's schedule fires at (spec §6): interval, cron and RRule, each time-zone aware.
 * `scheduleDates(schedule, { n, start, end })` is pure: sorted, unique instants, or the reason the schedule is unusable.
 */
import { Either } from "effect"
import type { CronSchedule, IntervalSchedule, RRuleSchedule, Schedule } from "../schedule.js"
import { rruleDates } from "./rrule.js"
import { cronFiresOn, parseCron } from "./cron.js"
import { addCalendarDays, fromLocal, localOf, toLocal } from "./zone.js"

/** At most this many candidate dates are examined (spec §6). */
export const MAX_CANDIDATES = 10_000

export interface DateQuery {
  /** How many dates at most; default: 10,000 when `end` is given, else 1. */
  readonly n?: number | null | undefined
  readonly start: Date
  readonly end?: Date | null | undefined
}

interface Window {
  readonly n: number
  readonly start: Date
  readonly end: Date | null
}

const DAY_SECONDS = 86_400
const DAY_MS = DAY_SECONDS * 1000
/** More than any zone moves its clocks at once (2 h): how far a wall-clock time's instant can be out of order. */
const DST_SLACK_MS = 3 * 3_600_000

/**
 * anchor + k·interval on or after `start`. Each step adds the interval's whole days as calendar days in the zone
 * (wall-clock kept across DST) and the remainder as absolute seconds (spec §6.1) — also for the first jump from the
 * anchor, so a daily schedule anchored in winter still fires at its local hour in summer.
 */
const intervalDates = (s: IntervalSchedule, w: Window): Array<Date> => {
  const zone = s.timezone ?? "UTC"
  const anchor = s.anchor_date ?? fromLocal(localOf(2020, 1, 1), zone)
  const intervalMs = s.interval * 1000
  const days = Math.floor(s.interval / DAY_SECONDS)
  const restMs = intervalMs - days * DAY_SECONDS * 1000
  const step = (d: Date) => new Date(addCalendarDays(d, days, zone).getTime() + restMs)
  // The j-th date at once: j·days calendar days, then j·remainder absolute. Start one before the estimate, since
  // calendar days across DST differ from 24 h by an hour either way.
  const nth = (j: number) => new Date(addCalendarDays(anchor, j * days, zone).getTime() + j * restMs)
  let next = nth(Math.trunc((w.start.getTime() - anchor.getTime()) / intervalMs) - 1)
  for (let i = 0; next < w.start && i < MAX_CANDIDATES; i++) next = step(next)
  const out: Array<Date> = []
  for (let i = 0; i < MAX_CANDIDATES && out.length < w.n; i++) {
    if (w.end !== null && next > w.end) break
    if (next >= w.start) out.push(next)
    next = step(next)
  }
  return out
}

/** Calendar days examined at most between two cron matches (croniter's 50 years), so "31 February" ends. */
const CRON_MAX_DAYS_BETWEEN = 50 * 366

/**
 * Cron matches in the zone's wall-clock time, a match at `start` itself included (spec §6.2). Each matching local time
 * becomes one instant as croniter makes it: a time repeated when clocks fall back fires once, at its first occurrence;
 * a time skipped when clocks spring forward fires that much later (02:30 → 03:30 daylight time), merged with a run
 * already there.
 */
const cronDates = (s: CronSchedule, w: Window): Either.Either<Array<Date>, string> => {
  const parsed = parseCron(s.cron)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const spec = parsed.right
  const zone = s.timezone ?? "UTC"
  const out: Array<Date> = []
  const seen = new Set<number>()
  // a day either side of the window's local dates: instants near midnight may belong to the neighbouring local day
  const startLocal = toLocal(w.start, zone)
  const endLocal = w.end === null ? Infinity : toLocal(w.end, zone)
  const firstDay = Math.floor(startLocal / DAY_MS) - 1
  const lastDay = Math.floor(endLocal / DAY_MS) + 1
  // once `n` are found, times a DST shift could still place before the last of them
  let stopAfter = Infinity
  let lastMatch = firstDay
  for (let day = firstDay; day <= lastDay && day - lastMatch < CRON_MAX_DAYS_BETWEEN && out.length < w.n && out.length < MAX_CANDIDATES; day++) {
    const date = new Date(day * DAY_MS)
    if (date.getUTCFullYear() > 9999) break
    if (!cronFiresOn(spec, s.day_or, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate())) continue
    lastMatch = day
    for (const hour of spec.hours) {
      for (const minute of spec.minutes) {
        const local = day * DAY_MS + hour * 3_600_000 + minute * 60_000
        if (local > stopAfter || local > endLocal + DST_SLACK_MS) return Either.right(out)
        if (local < startLocal - DST_SLACK_MS) continue
        const instant = fromLocal(local, zone)
        if (instant >= w.start && (w.end === null || instant <= w.end) && !seen.has(instant.getTime())) {
          seen.add(instant.getTime())
          out.push(instant)
          if (out.length >= w.n && stopAfter === Infinity) stopAfter = local + DST_SLACK_MS
        }
      }
    }
  }
  return Either.right(out)
}

const rrule = (s: RRuleSchedule, w: Window) => rruleDates(s.rrule, s.timezone, w, MAX_CANDIDATES)

/** The schedule's dates in `[start, end]`, at most `n`, sorted and unique; Left with a reason when it cannot be used. */
export const scheduleDates = (schedule: Schedule, query: DateQuery): Either.Either<Array<Date>, string> => {
  const end = query.end ?? null
  const w: Window = { start: query.start, end, n: query.n ?? (end !== null ? MAX_CANDIDATES : 1) }
  const dates = "interval" in schedule
    ? Either.right(intervalDates(schedule, w))
    : "cron" in schedule
    ? cronDates(schedule, w)
    : rrule(schedule, w)
  return Either.map(dates, (ds) => {
    const unique = [...new Map(ds.map((d) => [d.getTime(), d])).values()]
    return unique.sort((a, b) => a.getTime() - b.getTime()).slice(0, w.n)
  })
}
