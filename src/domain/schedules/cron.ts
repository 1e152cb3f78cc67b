/**
 * Cron expressions in croniter's dialect (spec §6.2): five fields parsed by Effect's `Cron`, plus what it lacks —
 * the aliases `@hourly` … `@yearly`, `L` (last day of the month), `L5`/`5L` (last Friday) and `5#2` (second Friday).
 */
import { Cron, Either } from "effect"

/** A weekday (0 = Sunday) on its n-th (1–5) or last ("last") occurrence in the month. */
export interface NthWeekday {
  readonly weekday: number
  readonly nth: number | "last"
}

/** A parsed cron expression; a day field that is `null` is unrestricted ("*"). */
export interface CronSpec {
  readonly minutes: ReadonlyArray<number>
  readonly hours: ReadonlyArray<number>
  readonly months: ReadonlySet<number>
  readonly daysOfMonth: { readonly days: ReadonlySet<number>; readonly last: boolean } | null
  readonly daysOfWeek: { readonly weekdays: ReadonlySet<number>; readonly nth: ReadonlyArray<NthWeekday> } | null
}

/** The aliases croniter accepts, each standing for a five-field expression. */
export const CRON_ALIASES: Readonly<Record<string, string>> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *"
}

const FIELDS = ["minute", "hour", "day-of-month", "month", "day-of-week"] as const
const WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

class CronError {
  constructor(readonly reason: string) {}
}
const fail = (reason: string): never => {
  throw new CronError(reason)
}

/** One field through Effect's parser (the other four "*"): its values, empty when it matches everything. */
const standardField = (index: number, text: string): Set<number> => {
  const fields = ["*", "*", "*", "*", "*"]
  fields[index] = text
  const parsed = Cron.parse(fields.join(" "))
  if (Either.isLeft(parsed)) return fail(`${FIELDS[index]} field ${JSON.stringify(text)}: ${parsed.left.message}`)
  const c = parsed.right
  return new Set([c.minutes, c.hours, c.days, c.months, c.weekdays][index])
}

const all = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const sorted = (values: ReadonlySet<number>, from: number, to: number) =>
  values.size === 0 ? all(from, to) : [...values].sort((a, b) => a - b)

const weekdayOf = (text: string, token: string): number => {
  const named = WEEKDAY_NAMES.indexOf(text.toLowerCase())
  if (named >= 0) return named
  const n = /^\d$/.test(text) ? Number(text) : NaN
  return n >= 0 && n <= 7 ? n % 7 : fail(`day-of-week field: ${JSON.stringify(token)} names no weekday (0–7 or SUN–SAT)`)
}

/** Day of month: Effect's syntax plus `L` (the month's last day), alone or as a range's end (`15-L`). */
const daysOfMonth = (text: string): CronSpec["daysOfMonth"] => {
  let last = false
  const rest: Array<string> = []
  for (const token of text.split(",")) {
    if (/^l$/i.test(token)) last = true
    else if (/w/i.test(token)) fail(`day-of-month field: ${JSON.stringify(token)}: W (nearest weekday) is not supported`)
    else rest.push(token.replace(/-l$/i, "-31"))
  }
  const days = rest.length === 0 ? new Set<number>() : standardField(2, rest.join(","))
  // Effect's parser answers an empty set for "*"; croniter also reads a list of every day as "*" (it matters to day_or)
  return rest.length > 0 && (days.size === 0 || days.size === 31) ? null : { days, last }
}

/** Day of week: Effect's syntax plus `5#2` (2nd Friday), `L5` (croniter) or `5L` (Quartz) for the last Friday. */
const daysOfWeek = (text: string): CronSpec["daysOfWeek"] => {
  const nth: Array<NthWeekday> = []
  const rest: Array<string> = []
  for (const token of text.split(",")) {
    const hash = /^(\w+)#(\d+)$/.exec(token)
    const last = /^l(\w+)$/i.exec(token) ?? /^(\w+)l$/i.exec(token)
    if (hash) {
      const n = Number(hash[2])
      if (n < 1 || n > 5) fail(`day-of-week field: ${JSON.stringify(token)}: the week number after # must be 1–5`)
      nth.push({ weekday: weekdayOf(hash[1]!, token), nth: n })
    } else if (last && !/^(sun|mon|tue|wed|thu|fri|sat)$/i.test(token)) {
      nth.push({ weekday: weekdayOf(last[1]!, token), nth: "last" })
    } else if (/^l$/i.test(token)) {
      fail(`day-of-week field: "L" needs a weekday: L5 or 5L is the last Friday of the month`)
    } else rest.push(token)
  }
  const weekdays = rest.length === 0 ? new Set<number>() : standardField(4, rest.join(","))
  return rest.length > 0 && (weekdays.size === 0 || weekdays.size === 7) ? null : { weekdays, nth }
}

/** Parses a cron expression or alias; Left with what is wrong in which field. */
export const parseCron = (expression: string): Either.Either<CronSpec, string> => {
  const trimmed = expression.trim()
  const expanded = trimmed.startsWith("@") ? CRON_ALIASES[trimmed.toLowerCase()] : trimmed
  if (expanded === undefined) {
    return Either.left(`Invalid cron ${JSON.stringify(expression)}: unknown alias (known: ${Object.keys(CRON_ALIASES).join(", ")})`)
  }
  const fields = expanded.split(/\s+/)
  if (fields.length !== 5) {
    return Either.left(`Invalid cron ${JSON.stringify(expression)}: expected 5 fields (minute hour day-of-month month day-of-week) or an alias such as @daily`)
  }
  try {
    return Either.right({
      minutes: sorted(standardField(0, fields[0]!), 0, 59),
      hours: sorted(standardField(1, fields[1]!), 0, 23),
      daysOfMonth: daysOfMonth(fields[2]!),
      months: new Set(sorted(standardField(3, fields[3]!), 1, 12)),
      daysOfWeek: daysOfWeek(fields[4]!)
    })
  } catch (e) {
    if (e instanceof CronError) return Either.left(`Invalid cron ${JSON.stringify(expression)}: ${e.reason}`)
    throw e
  }
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/**
 * Whether the cron fires on this calendar day. Day of month and day of week are OR'ed when both are restricted and
 * `dayOr` (standard cron), else AND'ed (fcron's "2nd Friday" style, croniter's `day_or=False`).
 */
export const cronFiresOn = (spec: CronSpec, dayOr: boolean, year: number, month: number, day: number): boolean => {
  if (!spec.months.has(month)) return false
  const dim = daysInMonth(year, month)
  const dom = spec.daysOfMonth
  const dow = spec.daysOfWeek
  const domOk = dom === null || dom.days.has(day) || (dom.last && day === dim)
  let dowOk = true
  if (dow !== null) {
    const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay()
    dowOk = dow.weekdays.has(weekday) || dow.nth.some((n) =>
      n.weekday === weekday && (n.nth === "last" ? day + 7 > dim : Math.ceil(day / 7) === n.nth))
  }
  return dom !== null && dow !== null && dayOr ? domOk || dowOk : domOk && dowOk
}
