/** Deployment schedules: interval, cron and RRule variants, told apart by their distinctive key (spec §6). */
import { Either, Schema } from "effect"
import { Seconds, Timestamp } from "./primitives.js"
import { parseCron } from "./schedules/cron.js"

const isKnownTimeZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** An IANA time-zone name such as "America/New_York". */
export const TimeZone = Schema.String.pipe(
  Schema.filter((tz) => isKnownTimeZone(tz) || `Unknown time zone: ${JSON.stringify(tz)}`)
).annotations({
  identifier: "TimeZone",
  // Random strings are hardly ever zone names: generated values (property tests) pick from real ones.
  arbitrary: () => (fc) => fc.constantFrom("UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney")
})

/** Interval bounds: dates are whole milliseconds, and every date stepped to stays within what a `Date` can hold. */
const MIN_INTERVAL_SECONDS = 0.001
const MAX_INTERVAL_SECONDS = 1e12

export const IntervalSchedule = Schema.Struct({
  interval: Seconds.pipe(Schema.between(MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS, {
    message: () => `interval must be between ${MIN_INTERVAL_SECONDS} and ${MAX_INTERVAL_SECONDS} seconds`
  })),
  timezone: Schema.optionalWith(Schema.NullOr(TimeZone), { default: () => null }),
  anchor_date: Schema.optionalWith(Schema.NullOr(Timestamp), { default: () => null })
}).pipe(
  Schema.filter((s) => !(s.timezone !== null && s.anchor_date !== null) || "give either anchor_date or timezone, not both")
).annotations({ identifier: "IntervalSchedule" })
export type IntervalSchedule = typeof IntervalSchedule.Type

export const CronSchedule = Schema.Struct({
  cron: Schema.String.pipe(Schema.filter((c) => Either.match(parseCron(c), { onLeft: (reason) => reason, onRight: () => true }), {
    arbitrary: () => (fc) => fc.constantFrom("* * * * *", "0 9 * * 1-5", "*/15 0-6 1,15 * *", "0 0 1 JAN *", "@daily", "0 18 L * *", "0 9 * * 5#2", "0 9 * * L5")
  })),
  timezone: Schema.optionalWith(Schema.NullOr(TimeZone), { default: () => null }),
  day_or: Schema.optionalWith(Schema.Boolean, { default: () => true })
}).annotations({ identifier: "CronSchedule" })
export type CronSchedule = typeof CronSchedule.Type

export const RRuleSchedule = Schema.Struct({
  rrule: Schema.String.pipe(Schema.minLength(1)),
  timezone: Schema.optionalWith(TimeZone, { default: () => "UTC", nullable: true })
}).annotations({ identifier: "RRuleSchedule" })
export type RRuleSchedule = typeof RRuleSchedule.Type

export const Schedule = Schema.Union(IntervalSchedule, CronSchedule, RRuleSchedule).annotations({ identifier: "Schedule" })
export type Schedule = typeof Schedule.Type
