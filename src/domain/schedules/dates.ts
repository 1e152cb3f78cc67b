/**
 * The dates a deployment's schedule fires at (spec §6): interval, cron and RRule, each time-zone aware.
 * `scheduleDates(schedule, { n, start, end })` is pure: sorted, unique instants, or the reason the schedule is unusable.
 */
import { Cron, Either, Option } from "effect"
import type { CronSchedule, IntervalSchedule, RRuleSchedule, Schedule } from "../schedule.js"
import { rruleDates } from "./rrule.js"
import { addCalendarDays, fromLocal, localOf } from "./zone.js"

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

/** Successive cron matches in the zone's wall-clock time, a match at `start` itself included (spec §6.2). */
const cronDates = (s: CronSchedule, w: Window): Either.Either<Array<Date>, string> => {
  const parsed = Cron.parse(s.cron, s.timezone ?? "UTC")
  if (Either.isLeft(parsed)) return Either.left(`Invalid cron schedule ${JSON.stringify(s.cron)}: ${parsed.left.message}`)
  const c = parsed.right
  const cron = s.day_or ? c : Cron.make({
    seconds: c.seconds, minutes: c.minutes, hours: c.hours, days: c.days, months: c.months, weekdays: c.weekdays,
    and: true, tz: Option.getOrUndefined(c.tz)
  })
  const out: Array<Date> = []
  let cursor = new Date(Math.ceil(w.start.getTime() / 1000) * 1000 - 1000)
  for (let i = 0; i < MAX_CANDIDATES && out.length < w.n; i++) {
    let next: Date
    try {
      next = Cron.next(cron, cursor)
    } catch {
      break // no further match within the cron module's search horizon
    }
    if (w.end !== null && next > w.end) break
    out.push(next)
    cursor = next
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
    return unique.sort((a, b) => a.getTime() - b.getTime())
  })
}
