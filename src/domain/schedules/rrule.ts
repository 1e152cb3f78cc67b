/**
 * RFC 5545 recurrence rules expanded in wall-clock time and then placed in the rule's zone, as dateutil does (spec
 * §6.3): FREQ, INTERVAL, COUNT, UNTIL, BYMONTH, BYWEEKNO, BYYEARDAY, BYMONTHDAY, BYDAY (with ordinals), BYHOUR,
 * BYMINUTE, BYSECOND, BYSETPOS and WKST, plus RDATE and EXDATE. The text is read by rrule-parse.ts.
 */
import { Either } from "effect"
import { parseRule, type Rule, RuleError } from "./rrule-parse.js"
import { fromLocal, localOf, toLocal } from "./zone.js"

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** More than any zone moves its clocks at once (2 h): how far a wall-clock time's instant can be out of order. */
const DST_SLACK = 3 * HOUR
/** Periods examined at most, so a rule that never matches (BYMONTHDAY=31;BYMONTH=2) still ends. */
const PERIOD_LIMIT = 100_000

const fields = (local: number) => {
  const d = new Date(local)
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() }
}
const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()
/** Whether a 1-based position (negative: from the end) among `length` names `index` (0-based). */
const atPosition = (positions: ReadonlyArray<number>, index: number, length: number) =>
  positions.some((p) => (p > 0 ? p - 1 : length + p) === index)
const monthDayMatches = (days: ReadonlyArray<number>, day: number, dim: number) => atPosition(days, day - 1, dim)

/** The first day of week 1 of `year`: the week (starting on `wkst`) that holds at least four of its days (RFC 5545). */
const week1Start = (year: number, wkst: number): number => {
  const jan1 = localOf(year, 1, 1)
  const offset = (new Date(jan1).getUTCDay() - wkst + 7) % 7
  return offset <= 3 ? jan1 - offset * DAY : jan1 + (7 - offset) * DAY
}

/** The week number of a day, counted in the year its week belongs to, and how many weeks that year has. */
const weekOf = (day: number, wkst: number): { readonly week: number; readonly weeks: number } => {
  const year = new Date(day).getUTCFullYear()
  const weekYear = day < week1Start(year, wkst) ? year - 1 : day >= week1Start(year + 1, wkst) ? year + 1 : year
  const first = week1Start(weekYear, wkst)
  return { week: Math.floor((day - first) / (7 * DAY)) + 1, weeks: Math.round((week1Start(weekYear + 1, wkst) - first) / (7 * DAY)) }
}

/** BYDAY: a plain weekday, or its n-th (from the end if negative) occurrence among the `length` days from `first`. */
const byDayMatches = (r: Rule, day: number, first: number, length: number) => {
  const weekday = new Date(day).getUTCDay()
  const index = Math.round((day - first) / DAY)
  return r.byDay!.some((bd) => {
    if (bd.weekday !== weekday) return false
    if (bd.nth === null) return true
    return bd.nth > 0 ? bd.nth === Math.floor(index / 7) + 1 : -bd.nth === Math.floor((length - 1 - index) / 7) + 1
  })
}

/** The days of a year that its BYxxx parts select; with none, DTSTART's month and day (RFC 5545, dateutil). */
const yearDays = (r: Rule, year: number): Array<number> => {
  const start = localOf(year, 1, 1)
  const length = (localOf(year + 1, 1, 1) - start) / DAY
  const s = fields(r.dtstart)
  const dayParts = r.byWeekNo !== null || r.byYearDay !== null || r.byMonthDay !== null || r.byDay !== null
  const months = r.byMonth ?? (dayParts ? null : [s.month])
  const out: Array<number> = []
  for (let i = 0; i < length; i++) {
    const day = start + i * DAY
    const f = fields(day)
    if (months !== null && !months.includes(f.month)) continue
    if (!dayParts) {
      if (f.day === s.day) out.push(day)
      continue
    }
    if (r.byWeekNo !== null) {
      const { week, weeks } = weekOf(day, r.wkst)
      if (!r.byWeekNo.some((n) => n === week || weeks + n + 1 === week)) continue
    }
    if (r.byYearDay !== null && !atPosition(r.byYearDay, i, length)) continue
    const dim = daysInMonth(f.year, f.month)
    if (r.byMonthDay !== null && !monthDayMatches(r.byMonthDay, f.day, dim)) continue
    // BYDAY ordinals count within the month when BYMONTH is given, else within the year
    if (r.byDay !== null && !(r.byMonth !== null ? byDayMatches(r, day, localOf(f.year, f.month, 1), dim) : byDayMatches(r, day, start, length))) continue
    out.push(day)
  }
  return out
}

/** The days of a month that BYMONTHDAY and BYDAY select; with neither, DTSTART's day of the month. */
const monthDays = (r: Rule, year: number, month: number): Array<number> => {
  const first = localOf(year, month, 1)
  const dim = daysInMonth(year, month)
  const dtDay = fields(r.dtstart).day
  return Array.from({ length: dim }, (_, i) => first + i * DAY).filter((day, i) => {
    if (r.byMonthDay !== null && !monthDayMatches(r.byMonthDay, i + 1, dim)) return false
    if (r.byDay === null) return r.byMonthDay !== null || i + 1 === dtDay
    return byDayMatches(r, day, first, dim)
  })
}

/** Whether a day passes the BYxxx day filters of a daily or finer rule. */
const dayMatches = (r: Rule, local: number): boolean => {
  const f = fields(local)
  const yearStart = localOf(f.year, 1, 1)
  return (r.byMonth === null || r.byMonth.includes(f.month)) &&
    (r.byYearDay === null || atPosition(r.byYearDay, Math.floor((local - yearStart) / DAY), (localOf(f.year + 1, 1, 1) - yearStart) / DAY)) &&
    (r.byMonthDay === null || monthDayMatches(r.byMonthDay, f.day, daysInMonth(f.year, f.month))) &&
    (r.byDay === null || r.byDay.some((bd) => bd.weekday === f.weekday))
}

/** The candidate days of the k-th period of a day-or-coarser frequency, and the local time that period starts. */
const periodDays = (r: Rule, k: number): { readonly start: number; readonly days: Array<number> } => {
  const s = fields(r.dtstart)
  const step = k * r.interval
  switch (r.freq) {
    case "YEARLY": {
      const year = s.year + step
      return { start: localOf(year, 1, 1), days: yearDays(r, year) }
    }
    case "MONTHLY": {
      const index = s.year * 12 + (s.month - 1) + step
      const year = Math.floor(index / 12)
      const month = (index % 12) + 1
      const start = localOf(year, month, 1)
      if (r.byMonth !== null && !r.byMonth.includes(month)) return { start, days: [] }
      return { start, days: monthDays(r, year, month) }
    }
    case "WEEKLY": {
      const dtDay = Math.floor(r.dtstart / DAY)
      const start = (dtDay - ((s.weekday - r.wkst + 7) % 7) + 7 * step) * DAY
      const weekdays = r.byDay?.map((bd) => bd.weekday) ?? [s.weekday]
      const days = Array.from({ length: 7 }, (_, i) => start + i * DAY)
        .filter((d) => weekdays.includes(fields(d).weekday) && (r.byMonth === null || r.byMonth.includes(fields(d).month)))
      return { start, days }
    }
    default: {
      const start = (Math.floor(r.dtstart / DAY) + step) * DAY
      return { start, days: dayMatches(r, start) ? [start] : [] }
    }
  }
}

const cross = (times: ReadonlyArray<number>, values: ReadonlyArray<number>, unit: number) =>
  times.flatMap((t) => values.map((v) => t + v * unit))

/** The k-th period's candidate wall-clock times, sorted, before BYSETPOS. */
const periodTimes = (r: Rule, k: number): { readonly start: number; readonly times: Array<number> } => {
  const s = fields(r.dtstart)
  const minutes = r.byMinute ?? [s.minute]
  const seconds = r.bySecond ?? [s.second]
  const step = k * r.interval
  const sorted = (xs: Array<number>) => xs.sort((a, b) => a - b)
  switch (r.freq) {
    case "HOURLY": {
      const start = Math.floor(r.dtstart / HOUR) * HOUR + step * HOUR
      const ok = dayMatches(r, start) && (r.byHour === null || r.byHour.includes(fields(start).hour))
      return { start, times: ok ? sorted(cross(cross([start], minutes, MINUTE), seconds, SECOND)) : [] }
    }
    case "MINUTELY": {
      const start = Math.floor(r.dtstart / MINUTE) * MINUTE + step * MINUTE
      const f = fields(start)
      const ok = dayMatches(r, start) && (r.byHour === null || r.byHour.includes(f.hour)) && (r.byMinute === null || r.byMinute.includes(f.minute))
      return { start, times: ok ? sorted(cross([start], seconds, SECOND)) : [] }
    }
    case "SECONDLY": {
      const start = Math.floor(r.dtstart / SECOND) * SECOND + step * SECOND
      const f = fields(start)
      const ok = dayMatches(r, start) && (r.byHour === null || r.byHour.includes(f.hour)) &&
        (r.byMinute === null || r.byMinute.includes(f.minute)) && (r.bySecond === null || r.bySecond.includes(f.second))
      return { start, times: ok ? [start] : [] }
    }
    default: {
      const { start, days } = periodDays(r, k)
      return { start, times: sorted(cross(cross(cross(days, r.byHour ?? [s.hour], HOUR), minutes, MINUTE), seconds, SECOND)) }
    }
  }
}

/** The k-th period's occurrences in wall-clock time: its candidates, narrowed by BYSETPOS when given. */
const period = (r: Rule, k: number): { readonly start: number; readonly times: Array<number> } => {
  const p = periodTimes(r, k)
  if (r.bySetPos === null) return p
  const { times } = p
  return { start: p.start, times: times.filter((_, i) => atPosition(r.bySetPos!, i, times.length)) }
}

/** Whole periods between the rule's start and `local`, to skip ahead when no COUNT needs counting from DTSTART. */
const periodsBefore = (r: Rule, local: number): number => {
  const s = fields(r.dtstart)
  const t = fields(local)
  const units = r.freq === "YEARLY" ? t.year - s.year
    : r.freq === "MONTHLY" ? (t.year - s.year) * 12 + (t.month - s.month)
    : r.freq === "WEEKLY" ? Math.floor((local - r.dtstart) / (7 * DAY))
    : Math.floor((local - r.dtstart) / { DAILY: DAY, HOURLY: HOUR, MINUTELY: MINUTE, SECONDLY: SECOND }[r.freq])
  return Math.max(0, Math.floor(units / r.interval) - 1)
}

/** The RRULE's own occurrences in the window, as instants, EXDATEs left out; at most `n`. */
const ruleOccurrences = (rule: Rule, window: RuleWindow, maxCandidates: number): Array<Date> => {
  const out: Array<Date> = []
  // two wall-clock times can land on one instant (02:00 and 03:00 on a spring-forward day): one run
  const placed = new Set<number>()
  const zone = rule.zone
  const startLocal = toLocal(window.start, zone)
  const endLocal = window.end === null ? null : toLocal(window.end, zone)
  const untilLocal = rule.until === null ? null : toLocal(rule.until, zone)
  const first = rule.count === null ? periodsBefore(rule, startLocal) : 0
  let counted = 0
  // once `n` are found, times a DST shift could still place before the last of them
  let stopAfter = Infinity
  for (let k = first, examined = 0; k < first + PERIOD_LIMIT; k++) {
    const { start, times } = period(rule, k)
    if ((endLocal !== null && start > endLocal + DAY) || new Date(start).getUTCFullYear() > 9999) break
    for (const local of times) {
      if (local < rule.dtstart) continue
      if (rule.count !== null && ++counted > rule.count) return out
      if (local > stopAfter || (untilLocal !== null && local > untilLocal + DST_SLACK) || (endLocal !== null && local > endLocal + DST_SLACK)) return out
      // long before the window an occurrence is only counted (COUNT counts from DTSTART)
      if (local < startLocal - DST_SLACK) continue
      const instant = fromLocal(local, zone)
      if (instant < window.start || (window.end !== null && instant > window.end) || (rule.until !== null && instant > rule.until)) continue
      if (rule.exdates.has(instant.getTime()) || placed.has(instant.getTime())) continue
      placed.add(instant.getTime())
      out.push(instant)
      if (++examined >= maxCandidates) return out
      if (out.length >= window.n && stopAfter === Infinity) stopAfter = local + DST_SLACK
    }
  }
  return out
}

export interface RuleWindow {
  readonly n: number
  readonly start: Date
  readonly end: Date | null
}

/**
 * The recurrence's occurrences in `[start, end]`, at most `n` of them, as sorted instants: the RRULE's (EXDATEs left
 * out) and the RDATEs; Left with the reason a rule is refused. `zone` is the schedule's; a DTSTART TZID may set it.
 */
export const rruleDates = (text: string, zone: string, window: RuleWindow, maxCandidates: number): Either.Either<Array<Date>, string> => {
  let rule: Rule
  try {
    rule = parseRule(text, zone)
  } catch (e) {
    if (e instanceof RuleError) return Either.left(`Invalid rrule ${JSON.stringify(text)}: ${e.reason}`)
    throw e
  }
  const extra = rule.rdates.filter((d) =>
    d >= window.start && (window.end === null || d <= window.end) && !rule.exdates.has(d.getTime()))
  const all = [...ruleOccurrences(rule, window, maxCandidates), ...extra]
  const unique = [...new Map(all.map((d) => [d.getTime(), d])).values()].sort((a, b) => a.getTime() - b.getTime())
  return Either.right(unique.slice(0, window.n))
}
