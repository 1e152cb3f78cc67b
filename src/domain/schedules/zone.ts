/** Wall-clock arithmetic in an IANA time zone: a wall-clock time is kept as "local ms" (its UTC fields are the local ones). */
import { DateTime } from "effect"

/** The wall-clock time in `zone` of an instant. */
export const toLocal = (instant: Date, zone: string): number => {
  const zoned = DateTime.unsafeMakeZoned(instant, { timeZone: zone })
  return instant.getTime() + DateTime.zonedOffset(zoned)
}

/** The instant at which `zone` shows this wall-clock time; in a DST overlap the earlier, in a gap the time just after it. */
export const fromLocal = (local: number, zone: string): Date =>
  new Date(DateTime.toEpochMillis(DateTime.unsafeMakeZoned(new Date(local), { timeZone: zone, adjustForTimeZone: true })))

/** `days` calendar days later in `zone`, keeping the wall-clock time (so a daily step stays at 9 am across DST). */
export const addCalendarDays = (instant: Date, days: number, zone: string): Date => {
  if (days === 0) return instant
  const local = new Date(toLocal(instant, zone))
  local.setUTCDate(local.getUTCDate() + days)
  return fromLocal(local.getTime(), zone)
}

/** A wall-clock time from its fields (month 1–12). */
export const localOf = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number => {
  const local = new Date(Date.UTC(2000, month - 1, day, hour, minute, second))
  // Date.UTC reads years 0–99 as 1900–1999
  return year >= 100 ? Date.UTC(year, month - 1, day, hour, minute, second) : local.setUTCFullYear(local.getUTCFullYear() - 2000 + year)
}
