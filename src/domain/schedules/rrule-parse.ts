/**
 * Reads an RFC 5545 recurrence text (DTSTART, one RRULE, RDATE, EXDATE) into a Rule in wall-clock time; anything it
 * does not know — a property, a parameter, an RRULE part such as BYEASTER, a combination RFC 5545 forbids — is refused
 * by name rather than ignored.
 */
import { fromLocal, localOf, toLocal } from "./zone.js"

export const FREQS = ["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"] as const
export type Freq = typeof FREQS[number]
const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"] as const
/** The rule parts of RFC 5545 §3.3.10, in its order. */
export const RRULE_PARTS = [
  "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY",
  "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"
] as const

const DAY = 86_400_000

export interface ByDay {
  readonly weekday: number
  readonly nth: number | null
}

/** A recurrence rule; every date is "local ms" (wall-clock time in `zone` read as UTC) unless it says instant. */
export interface Rule {
  /** The zone the rule's wall-clock times are in. */
  readonly zone: string
  readonly freq: Freq
  readonly interval: number
  readonly count: number | null
  /** The last instant an occurrence may fall on. */
  readonly until: Date | null
  readonly byMonth: ReadonlyArray<number> | null
  readonly byWeekNo: ReadonlyArray<number> | null
  readonly byYearDay: ReadonlyArray<number> | null
  readonly byMonthDay: ReadonlyArray<number> | null
  readonly byDay: ReadonlyArray<ByDay> | null
  readonly byHour: ReadonlyArray<number> | null
  readonly byMinute: ReadonlyArray<number> | null
  readonly bySecond: ReadonlyArray<number> | null
  readonly bySetPos: ReadonlyArray<number> | null
  /** Week start, 0 = Sunday (default Monday). */
  readonly wkst: number
  readonly dtstart: number
  /** Extra occurrences (RDATE) and removed ones (EXDATE), as instants. */
  readonly rdates: ReadonlyArray<Date>
  readonly exdates: ReadonlySet<number>
}

export class RuleError {
  constructor(readonly reason: string) {}
}
const fail = (reason: string): never => {
  throw new RuleError(reason)
}

export const isKnownZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

interface Property {
  readonly name: string
  readonly tzid: string | null
  readonly valueType: string | null
  readonly value: string
}

/** `NAME;TZID=Zone;VALUE=DATE:VALUE` → its name, parameters and value; a bare `FREQ=…` is an RRULE. */
const parseProperty = (line: string): Property => {
  if (/^FREQ=/i.test(line)) return { name: "RRULE", tzid: null, valueType: null, value: line }
  const colon = line.indexOf(":")
  if (colon < 0) return fail(`invalid line ${JSON.stringify(line)}: expected FREQ=…, RRULE:…, DTSTART:…, RDATE:… or EXDATE:…`)
  const [name = "", ...params] = line.slice(0, colon).split(";")
  if (name === "") fail(`invalid line ${JSON.stringify(line)}: no property name before ":"`)
  let tzid: string | null = null
  let valueType: string | null = null
  for (const param of params) {
    const [key = "", value = ""] = param.split("=")
    if (key.toUpperCase() === "TZID") tzid = isKnownZone(value) ? value : fail(`unknown time zone ${JSON.stringify(value)}`)
    else if (key.toUpperCase() === "VALUE") valueType = value.toUpperCase()
    else fail(`parameter ${key.toUpperCase()} of ${name.toUpperCase()} is not supported (only TZID and VALUE)`)
  }
  return { name: name.toUpperCase(), tzid, valueType, value: line.slice(colon + 1) }
}

/** A date or date-time value: in `tzid` if given, UTC if it ends in Z, else wall-clock time in `zone` (spec §6.3). */
const parseDate = (value: string, tzid: string | null, zone: string): { readonly local: number; readonly instant: Date; readonly dateOnly: boolean } => {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(value)
  if (!m) return fail(`invalid date ${JSON.stringify(value)} (expected YYYYMMDD or YYYYMMDDTHHMMSS[Z])`)
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? "0", m[5] ?? "0", m[6] ?? "0"].map(Number) as [number, number, number, number, number, number]
  const wall = localOf(year, month, day, hour, minute, second)
  const f = new Date(wall)
  if (year < 1 || f.getUTCFullYear() !== year || f.getUTCMonth() + 1 !== month || f.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    fail(`invalid date ${JSON.stringify(value)}: no such day or time`)
  }
  const instant = m[7] === "Z" ? new Date(wall) : fromLocal(wall, tzid ?? zone)
  return { instant, local: toLocal(instant, zone), dateOnly: m[4] === undefined }
}

const intList = (name: string, value: string, min: number, max: number, allowNegative = false): Array<number> =>
  value.split(",").map((v) => {
    const n = /^[+-]?\d+$/.test(v) ? Number(v) : NaN
    const ok = Number.isInteger(n) && (allowNegative ? Math.abs(n) >= min && Math.abs(n) <= max : n >= min && n <= max)
    return ok ? n : fail(`${name} value ${JSON.stringify(v)} is out of range (${allowNegative ? `±${min}…±${max}` : `${min}…${max}`})`)
  })

const weekdayOf = (code: string): number => {
  const i = WEEKDAYS.indexOf(code as typeof WEEKDAYS[number])
  return i >= 0 ? i : fail(`unknown weekday ${JSON.stringify(code)} (expected one of ${WEEKDAYS.join(", ")})`)
}

/** The RRULE's parts by name, each at most once and each one RFC 5545 defines. */
const ruleParts = (text: string): Map<string, string> => {
  const parts = new Map<string, string>()
  for (const part of text.split(";").filter((p) => p !== "")) {
    const eq = part.indexOf("=")
    const key = (eq < 0 ? part : part.slice(0, eq)).toUpperCase()
    if (key === "") fail(`${JSON.stringify(part)} names no RRULE part`)
    if (!(RRULE_PARTS as ReadonlyArray<string>).includes(key)) {
      fail(`${key} is not an RRULE part (RFC 5545 knows ${RRULE_PARTS.join(", ")})`)
    }
    if (eq < 0 || eq === part.length - 1) fail(`${key} has no value`)
    if (parts.has(key)) fail(`${key} is given twice`)
    parts.set(key, part.slice(eq + 1).toUpperCase())
  }
  return parts
}

/**
 * The rule's zone: DTSTART's TZID when it has one, else the schedule's. A TZID that disagrees with a schedule zone other
 * than the default UTC is refused rather than guessed at.
 */
const ruleZone = (dtstart: Property | undefined, scheduleZone: string): string => {
  const tzid = dtstart?.tzid ?? null
  if (tzid === null || tzid === scheduleZone) return scheduleZone
  if (scheduleZone !== "UTC") fail(`DTSTART is in ${tzid} but the schedule's timezone is ${scheduleZone}: give one zone, or set "timezone" to ${JSON.stringify(tzid)}`)
  return tzid
}

/** Parses a recurrence text; throws RuleError with the reason it is refused. */
export const parseRule = (text: string, scheduleZone: string): Rule => {
  const properties = text.trim().split(/\s+/).filter((l) => l !== "").map(parseProperty)
  for (const p of properties) {
    if (p.name === "EXRULE") fail("EXRULE is not supported (RFC 5545 deprecates it): use EXDATE")
    else if (!["DTSTART", "RRULE", "RDATE", "EXDATE"].includes(p.name)) fail(`${p.name} is not supported (expected DTSTART, RRULE, RDATE or EXDATE)`)
    if (p.valueType !== null && p.valueType !== "DATE" && p.valueType !== "DATE-TIME") fail(`VALUE=${p.valueType} is not supported (only DATE and DATE-TIME)`)
  }
  const starts = properties.filter((p) => p.name === "DTSTART")
  const rules = properties.filter((p) => p.name === "RRULE")
  if (starts.length > 1) fail("DTSTART is given twice")
  if (rules.length > 1) fail("only one RRULE is supported")
  const rrule = rules[0] ?? fail("no RRULE (expected e.g. FREQ=DAILY;INTERVAL=1)")
  const zone = ruleZone(starts[0], scheduleZone)
  const dtstart = starts[0] === undefined ? localOf(2020, 1, 1) : parseDate(starts[0].value, starts[0].tzid, zone).local
  const dates = (name: string) =>
    properties.filter((p) => p.name === name).flatMap((p) => p.value.split(",").map((v) => parseDate(v, p.tzid, zone).instant))

  const parts = ruleParts(rrule.value)
  const freq = parts.get("FREQ") as Freq | undefined
  if (freq === undefined || !FREQS.includes(freq)) return fail(`FREQ must be one of ${FREQS.join(", ")}`)
  const has = (key: string) => parts.has(key)
  const list = <A>(key: string, parse: (v: string) => Array<A>): Array<A> | null => (has(key) ? parse(parts.get(key)!) : null)
  if (has("COUNT") && has("UNTIL")) fail("COUNT and UNTIL cannot both be given")
  // RFC 5545 §3.3.10: which parts each frequency may carry
  if (has("BYWEEKNO") && freq !== "YEARLY") fail("BYWEEKNO needs FREQ=YEARLY")
  if (has("BYYEARDAY") && ["MONTHLY", "WEEKLY", "DAILY"].includes(freq)) fail(`BYYEARDAY cannot be used with FREQ=${freq}`)
  if (has("BYMONTHDAY") && freq === "WEEKLY") fail("BYMONTHDAY cannot be used with FREQ=WEEKLY")
  if (has("BYSETPOS") && ![...parts.keys()].some((k) => k.startsWith("BY") && k !== "BYSETPOS")) fail("BYSETPOS needs another BYxxx part to pick from")

  const byDay = list("BYDAY", (v) =>
    v.split(",").map((d) => {
      const m = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(d) ?? fail(`invalid BYDAY value ${JSON.stringify(d)}`)
      const nth = m[1] === undefined ? null : Number(m[1])
      if (nth !== null && (nth === 0 || Math.abs(nth) > 53)) fail(`invalid BYDAY ordinal in ${JSON.stringify(d)}`)
      if (nth !== null && freq !== "MONTHLY" && freq !== "YEARLY") fail("BYDAY ordinals need FREQ=MONTHLY or FREQ=YEARLY")
      if (nth !== null && has("BYWEEKNO")) fail("BYDAY ordinals cannot be used with BYWEEKNO")
      return { weekday: weekdayOf(m[2]!), nth }
    }))
  const until = list("UNTIL", (v) => {
    const u = parseDate(v, null, zone)
    // a date alone means the whole of that day
    return [u.dateOnly ? fromLocal(u.local + DAY - 1, zone) : u.instant]
  })
  return {
    zone,
    freq,
    interval: has("INTERVAL") ? intList("INTERVAL", parts.get("INTERVAL")!, 1, 1_000_000)[0]! : 1,
    count: has("COUNT") ? intList("COUNT", parts.get("COUNT")!, 1, 1_000_000)[0]! : null,
    until: until?.[0] ?? null,
    byMonth: list("BYMONTH", (v) => intList("BYMONTH", v, 1, 12)),
    byWeekNo: list("BYWEEKNO", (v) => intList("BYWEEKNO", v, 1, 53, true)),
    byYearDay: list("BYYEARDAY", (v) => intList("BYYEARDAY", v, 1, 366, true)),
    byMonthDay: list("BYMONTHDAY", (v) => intList("BYMONTHDAY", v, 1, 31, true)),
    byDay,
    byHour: list("BYHOUR", (v) => intList("BYHOUR", v, 0, 23)),
    byMinute: list("BYMINUTE", (v) => intList("BYMINUTE", v, 0, 59)),
    bySecond: list("BYSECOND", (v) => intList("BYSECOND", v, 0, 59)),
    bySetPos: list("BYSETPOS", (v) => intList("BYSETPOS", v, 1, 366, true)),
    wkst: has("WKST") ? weekdayOf(parts.get("WKST")!) : 1,
    dtstart,
    rdates: dates("RDATE"),
    exdates: new Set(dates("EXDATE").map((d) => d.getTime()))
  }
}
