/**
 * RFC 5545 recurrence rules, expanded in a time zone's wall-clock time (spec §6.3): DTSTART (default 2020-01-01
 * 00:00), one RRULE with FREQ, INTERVAL, COUNT, UNTIL, BYMONTH, BYMONTHDAY, BYDAY (with ordinals), BYHOUR, BYMINUTE,
 * BYSECOND and WKST, and EXDATE. BYSETPOS, BYYEARDAY, BYWEEKNO, RDATE and EXRULE are refused with a clear reason.
 */
import { Either } from "effect"
import { fromLocal, localOf, toLocal } from "./zone.js"

const FREQS = ["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"] as const
type Freq = typeof FREQS[number]
const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"] as const
const UNSUPPORTED = ["BYSETPOS", "BYYEARDAY", "BYWEEKNO"]

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** Periods examined at most, so a rule that never matches (BYMONTHDAY=31;BYMONTH=2) still ends. */
const PERIOD_LIMIT = 100_000

interface ByDay {
  readonly weekday: number
  readonly nth: number | null
}

interface Rule {
  readonly freq: Freq
  readonly interval: number
  readonly count: number | null
  readonly until: Date | null
  readonly byMonth: ReadonlyArray<number> | null
  readonly byMonthDay: ReadonlyArray<number> | null
  readonly byDay: ReadonlyArray<ByDay> | null
  readonly byHour: ReadonlyArray<number> | null
  readonly byMinute: ReadonlyArray<number> | null
  readonly bySecond: ReadonlyArray<number> | null
  readonly wkst: number
  /** Wall-clock start in the schedule's zone. */
  readonly dtstart: number
  readonly exdates: ReadonlySet<number>
}

class RuleError {
  constructor(readonly reason: string) {}
}
const fail = (reason: string): never => {
  throw new RuleError(reason)
}

/**
 * `20210101T090000Z` (an instant) or `20210101T090000` / `20210101` (wall-clock time in the schedule's zone, spec
 * §6.3). A TZID other than the schedule's zone is refused rather than guessed at.
 */
const parseDateValue = (value: string, tzid: string | null, zone: string): { readonly local: number; readonly instant: Date } => {
  if (tzid !== null && tzid !== zone) fail(`dates are in ${tzid} but the schedule's timezone is ${zone}: set "timezone" to ${JSON.stringify(tzid)}`)
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(value)
  if (!m) return fail(`invalid date ${JSON.stringify(value)} (expected YYYYMMDD or YYYYMMDDTHHMMSS[Z])`)
  const local = localOf(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0))
  if (m[7] === "Z") return { instant: new Date(local), local: toLocal(new Date(local), zone) }
  return { instant: fromLocal(local, zone), local }
}

const isKnownZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** `NAME;TZID=Zone:VALUE` → name, TZID parameter and value. */
const parseProperty = (line: string) => {
  const colon = line.indexOf(":")
  if (colon < 0) return fail(`invalid line ${JSON.stringify(line)}: expected FREQ=…, RRULE:…, DTSTART:… or EXDATE:…`)
  const [name = "", ...params] = line.slice(0, colon).split(";")
  const tzid = params.find((p) => /^tzid=/i.test(p))?.slice(5) ?? null
  if (tzid !== null && !isKnownZone(tzid)) fail(`unknown time zone ${JSON.stringify(tzid)}`)
  return { name: name.toUpperCase(), tzid, value: line.slice(colon + 1) }
}

const intList = (name: string, value: string, min: number, max: number, allowNegative = false): Array<number> =>
  value.split(",").map((v) => {
    const n = Number(v)
    const ok = Number.isInteger(n) && (allowNegative ? Math.abs(n) >= min && Math.abs(n) <= max : n >= min && n <= max)
    return ok ? n : fail(`${name} value ${JSON.stringify(v)} is out of range`)
  })

const weekdayOf = (code: string): number => {
  const i = WEEKDAYS.indexOf(code as typeof WEEKDAYS[number])
  return i >= 0 ? i : fail(`unknown weekday ${JSON.stringify(code)}`)
}

const parseRule = (text: string, zone: string): Rule => {
  let dtstart = localOf(2020, 1, 1)
  let ruleText: string | null = null
  const exdates = new Set<number>()
  for (const token of text.trim().split(/\s+/)) {
    if (/^FREQ=/i.test(token)) {
      ruleText = ruleText === null ? token : fail("only one RRULE is supported")
      continue
    }
    const { name, tzid, value } = parseProperty(token)
    if (name === "DTSTART") dtstart = parseDateValue(value, tzid, zone).local
    else if (name === "RRULE") ruleText = ruleText === null ? value : fail("only one RRULE is supported")
    else if (name === "EXDATE") for (const v of value.split(",")) exdates.add(parseDateValue(v, tzid, zone).instant.getTime())
    else fail(`${name} is not supported`)
  }
  if (ruleText === null) return fail("no RRULE (expected e.g. FREQ=DAILY;INTERVAL=1)")
  const parts = new Map<string, string>()
  for (const part of ruleText.split(";").filter((p) => p !== "")) {
    const [key = "", value = ""] = part.split("=")
    parts.set(key.toUpperCase(), value.toUpperCase())
  }
  for (const key of UNSUPPORTED) if (parts.has(key)) fail(`${key} is not supported`)
  const freq = parts.get("FREQ") as Freq | undefined
  if (freq === undefined || !FREQS.includes(freq)) return fail(`FREQ must be one of ${FREQS.join(", ")}`)
  const interval = parts.has("INTERVAL") ? intList("INTERVAL", parts.get("INTERVAL")!, 1, 1_000_000)[0]! : 1
  if (parts.has("COUNT") && parts.has("UNTIL")) fail("COUNT and UNTIL cannot both be given")
  const list = <A>(key: string, parse: (v: string) => Array<A>): Array<A> | null => (parts.has(key) ? parse(parts.get(key)!) : null)
  const byDay = list("BYDAY", (v) =>
    v.split(",").map((d) => {
      const m = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(d) ?? fail(`invalid BYDAY value ${JSON.stringify(d)}`)
      const nth = m[1] === undefined ? null : Number(m[1])
      if (nth !== null && (nth === 0 || Math.abs(nth) > 53)) fail(`invalid BYDAY ordinal in ${JSON.stringify(d)}`)
      if (nth !== null && freq !== "MONTHLY" && freq !== "YEARLY") fail("BYDAY ordinals need FREQ=MONTHLY or FREQ=YEARLY")
      return { weekday: weekdayOf(m[2]!), nth }
    }))
  return {
    freq,
    interval,
    count: parts.has("COUNT") ? intList("COUNT", parts.get("COUNT")!, 1, 1_000_000)[0]! : null,
    until: parts.has("UNTIL") ? parseDateValue(parts.get("UNTIL")!, null, zone).instant : null,
    byMonth: list("BYMONTH", (v) => intList("BYMONTH", v, 1, 12)),
    byMonthDay: list("BYMONTHDAY", (v) => intList("BYMONTHDAY", v, 1, 31, true)),
    byDay,
    byHour: list("BYHOUR", (v) => intList("BYHOUR", v, 0, 23)),
    byMinute: list("BYMINUTE", (v) => intList("BYMINUTE", v, 0, 59)),
    bySecond: list("BYSECOND", (v) => intList("BYSECOND", v, 0, 59)),
    wkst: parts.has("WKST") ? weekdayOf(parts.get("WKST")!) : 1,
    dtstart,
    exdates
  }
}

const fields = (local: number) => {
  const d = new Date(local)
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() }
}
const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()
const monthDayMatches = (days: ReadonlyArray<number>, day: number, dim: number) => days.some((md) => md === day || dim + md + 1 === day)

/** Days (local midnight) of a month or year that satisfy BYMONTHDAY and BYDAY; ordinals count within that scope. */
const daysInScope = (r: Rule, first: number, length: number): Array<number> => {
  const days = Array.from({ length }, (_, i) => first + i * DAY)
  return days.filter((day, index) => {
    const f = fields(day)
    if (r.byMonthDay !== null && !monthDayMatches(r.byMonthDay, f.day, daysInMonth(f.year, f.month))) return false
    if (r.byDay === null) return r.byMonthDay !== null || f.day === fields(r.dtstart).day
    return r.byDay.some((bd) => {
      if (bd.weekday !== f.weekday) return false
      if (bd.nth === null) return true
      const sameBefore = Math.floor(index / 7) + 1
      const sameAfter = Math.floor((length - 1 - index) / 7) + 1
      return bd.nth > 0 ? bd.nth === sameBefore : -bd.nth === sameAfter
    })
  })
}

const dayMatches = (r: Rule, local: number): boolean => {
  const f = fields(local)
  return (r.byMonth === null || r.byMonth.includes(f.month)) &&
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
      const start = localOf(year, 1, 1)
      const yearLength = (localOf(year + 1, 1, 1) - start) / DAY
      if (r.byMonth === null && r.byDay !== null && r.byDay.some((bd) => bd.nth !== null)) return { start, days: daysInScope(r, start, yearLength) }
      const months = r.byMonth ?? (r.byMonthDay !== null || r.byDay !== null ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] : [s.month])
      return { start, days: months.flatMap((m) => daysInScope(r, localOf(year, m, 1), daysInMonth(year, m))) }
    }
    case "MONTHLY": {
      const index = s.year * 12 + (s.month - 1) + step
      const year = Math.floor(index / 12)
      const month = (index % 12) + 1
      const start = localOf(year, month, 1)
      if (r.byMonth !== null && !r.byMonth.includes(month)) return { start, days: [] }
      return { start, days: daysInScope(r, start, daysInMonth(year, month)) }
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

/** The k-th period's candidate wall-clock times, sorted, and the local time the period starts. */
const period = (r: Rule, k: number): { readonly start: number; readonly times: Array<number> } => {
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

/** The rule's occurrences in `[start, end]`, at most `n` of them, as instants; Left with the reason a rule is refused. */
export const rruleDates = (
  text: string,
  zone: string,
  window: { readonly n: number; readonly start: Date; readonly end: Date | null },
  maxCandidates: number
): Either.Either<Array<Date>, string> => {
  let rule: Rule
  try {
    rule = parseRule(text, zone)
  } catch (e) {
    if (e instanceof RuleError) return Either.left(`Invalid rrule ${JSON.stringify(text)}: ${e.reason}`)
    throw e
  }
  const out: Array<Date> = []
  const startLocal = toLocal(window.start, zone)
  const endLocal = window.end === null ? null : toLocal(window.end, zone)
  const first = rule.count === null ? periodsBefore(rule, startLocal) : 0
  let seen = 0
  for (let k = first, examined = 0; k < first + PERIOD_LIMIT; k++) {
    const { start, times } = period(rule, k)
    if ((endLocal !== null && start > endLocal + DAY) || new Date(start).getUTCFullYear() > 9999) break
    for (const local of times) {
      if (local < rule.dtstart) continue
      if (rule.count !== null && ++seen > rule.count) return Either.right(out)
      const instant = fromLocal(local, zone)
      if (rule.until !== null && instant > rule.until) return Either.right(out)
      if (window.end !== null && instant > window.end) return Either.right(out)
      if (rule.exdates.has(instant.getTime()) || instant < window.start) continue
      out.push(instant)
      if (out.length >= window.n || ++examined >= maxCandidates) return Either.right(out)
    }
  }
  return Either.right(out)
}
