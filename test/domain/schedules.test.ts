/**
 * The dates of interval, cron and RRule schedules (spec §6), as tables: each cron and RRULE feature, DST spring-forward
 * and fall-back in America/New_York and Europe/Berlin for every kind, and the reasons a schedule is refused.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import type { Schedule } from "../../src/domain/index.js"
import { scheduleDates } from "../../src/domain/schedules/dates.js"

interface Query {
  readonly n?: number
  readonly start: string
  readonly end?: string
}
const dates = (schedule: Schedule, query: Query) => {
  const result = scheduleDates(schedule, { n: query.n ?? null, start: new Date(query.start), end: query.end ? new Date(query.end) : null })
  if (Either.isLeft(result)) throw new Error(result.left)
  return result.right.map((d) => d.toISOString().replace(".000Z", "Z"))
}
const refusal = (schedule: Schedule) => Either.getLeft(scheduleDates(schedule, { n: 1, start: new Date(0) })).pipe((o) => o._tag === "Some" ? o.value : "accepted")

const interval = (seconds: number, extra: Partial<{ timezone: string | null; anchor_date: Date | null }> = {}): Schedule =>
  ({ interval: seconds, timezone: null, anchor_date: null, ...extra })
const cron = (expr: string, timezone: string | null = null, day_or = true): Schedule => ({ cron: expr, timezone, day_or })
const rrule = (rule: string, timezone = "UTC"): Schedule => ({ rrule: rule, timezone })

type Row = readonly [what: string, schedule: Schedule, query: Query, expected: ReadonlyArray<string>]
const table = (rows: ReadonlyArray<Row>) =>
  it.each(rows.map(([what, schedule, query, expected]) => ({ what, schedule, query, expected })))("$what", ({ schedule, query, expected }) => {
    expect(dates(schedule, query)).toEqual(expected)
  })

const NY = "America/New_York"
const BERLIN = "Europe/Berlin"

describe("interval schedules", () => {
  table([
    ["anchored at 2020-01-01, on or after start", interval(3600), { start: "2021-11-19T10:30:00Z", n: 3 }, ["2021-11-19T11:00:00Z", "2021-11-19T12:00:00Z", "2021-11-19T13:00:00Z"]],
    ["n defaults to 1 without an end; a date at start is included", interval(3600), { start: "2021-11-19T10:00:00Z" }, ["2021-11-19T10:00:00Z"]],
    ["every date up to end when n is not given", interval(6 * 3600), { start: "2021-11-19T00:00:00Z", end: "2021-11-20T00:00:00Z" }, ["2021-11-19T00:00:00Z", "2021-11-19T06:00:00Z", "2021-11-19T12:00:00Z", "2021-11-19T18:00:00Z", "2021-11-20T00:00:00Z"]],
    ["an anchor_date sets the phase", interval(90, { anchor_date: new Date("2021-11-19T10:00:30Z") }), { start: "2021-11-19T10:00:00Z", n: 2 }, ["2021-11-19T10:00:30Z", "2021-11-19T10:02:00Z"]]
  ])
})

describe("interval schedules across DST: whole days keep the local hour, shorter intervals follow absolute time", () => {
  table([
    ["New York, spring forward, daily at midnight", interval(86_400, { timezone: NY }), { start: "2021-03-13T00:00:00Z", n: 3 }, ["2021-03-13T05:00:00Z", "2021-03-14T05:00:00Z", "2021-03-15T04:00:00Z"]],
    ["New York, fall back, daily at midnight", interval(86_400, { timezone: NY }), { start: "2021-11-06T00:00:00Z", n: 3 }, ["2021-11-06T04:00:00Z", "2021-11-07T04:00:00Z", "2021-11-08T05:00:00Z"]],
    ["New York, spring forward, hourly (01:00 EST, then 03:00 EDT)", interval(3600, { timezone: NY }), { start: "2021-03-14T06:00:00Z", n: 3 }, ["2021-03-14T06:00:00Z", "2021-03-14T07:00:00Z", "2021-03-14T08:00:00Z"]],
    ["New York, fall back, hourly (two runs at 01:00 local)", interval(3600, { timezone: NY }), { start: "2021-11-07T05:00:00Z", n: 3 }, ["2021-11-07T05:00:00Z", "2021-11-07T06:00:00Z", "2021-11-07T07:00:00Z"]],
    ["Berlin, spring forward, daily at midnight", interval(86_400, { timezone: BERLIN }), { start: "2021-03-27T00:00:00Z", n: 3 }, ["2021-03-27T23:00:00Z", "2021-03-28T22:00:00Z", "2021-03-29T22:00:00Z"]],
    ["Berlin, fall back, weekly at midnight", interval(7 * 86_400, { timezone: BERLIN }), { start: "2021-10-20T00:00:00Z", n: 2 }, ["2021-10-26T22:00:00Z", "2021-11-02T23:00:00Z"]],
    ["Berlin, fall back, hourly (two runs at 02:00 local)", interval(3600, { timezone: BERLIN }), { start: "2021-10-31T00:00:00Z", n: 3 }, ["2021-10-31T00:00:00Z", "2021-10-31T01:00:00Z", "2021-10-31T02:00:00Z"]]
  ])
})

describe("cron schedules: each feature", () => {
  const from = { start: "2021-01-01T00:00:00Z", n: 3 }
  table([
    ["a match at start is included", cron("0 0 * * *"), { start: "2021-11-19T00:00:00Z", n: 2 }, ["2021-11-19T00:00:00Z", "2021-11-20T00:00:00Z"]],
    ["a start past the second excludes that match", cron("0 0 * * *"), { start: "2021-11-19T00:00:00.500Z", n: 1 }, ["2021-11-20T00:00:00Z"]],
    ["steps, up to end", cron("*/15 * * * *"), { start: "2021-11-19T10:01:00Z", end: "2021-11-19T11:00:00Z" }, ["2021-11-19T10:15:00Z", "2021-11-19T10:30:00Z", "2021-11-19T10:45:00Z", "2021-11-19T11:00:00Z"]],
    ["ranges, lists and names", cron("0 9,17 * JAN-FEB MON-FRI"), from, ["2021-01-01T09:00:00Z", "2021-01-01T17:00:00Z", "2021-01-04T09:00:00Z"]],
    ["7 is Sunday", cron("0 0 * * 7"), from, ["2021-01-03T00:00:00Z", "2021-01-10T00:00:00Z", "2021-01-17T00:00:00Z"]],
    ["day_or (default): day 8-14 OR Friday", cron("0 0 8-14 * 5", null, true), { start: "2021-11-01T00:00:00Z", n: 2 }, ["2021-11-05T00:00:00Z", "2021-11-08T00:00:00Z"]],
    ["day_or false: day 8-14 AND Friday, the 2nd Friday", cron("0 0 8-14 * 5", null, false), { start: "2021-11-01T00:00:00Z", n: 2 }, ["2021-11-12T00:00:00Z", "2021-12-10T00:00:00Z"]],
    ["a day list of every day is '*': no OR with the weekday", cron("0 0 1-31 * 1"), from, ["2021-01-04T00:00:00Z", "2021-01-11T00:00:00Z", "2021-01-18T00:00:00Z"]],
    ["@hourly", cron("@hourly"), { start: "2021-11-19T10:30:00Z", n: 2 }, ["2021-11-19T11:00:00Z", "2021-11-19T12:00:00Z"]],
    ["@daily", cron("@daily"), { start: "2021-11-19T10:30:00Z", n: 2 }, ["2021-11-20T00:00:00Z", "2021-11-21T00:00:00Z"]],
    ["@midnight", cron("@midnight"), { start: "2021-11-19T10:30:00Z", n: 1 }, ["2021-11-20T00:00:00Z"]],
    ["@weekly is Sunday midnight", cron("@weekly"), { start: "2021-11-19T10:30:00Z", n: 2 }, ["2021-11-21T00:00:00Z", "2021-11-28T00:00:00Z"]],
    ["@monthly", cron("@monthly"), { start: "2021-11-19T10:30:00Z", n: 2 }, ["2021-12-01T00:00:00Z", "2022-01-01T00:00:00Z"]],
    ["@yearly", cron("@yearly"), { start: "2021-11-19T10:30:00Z", n: 2 }, ["2022-01-01T00:00:00Z", "2023-01-01T00:00:00Z"]],
    ["@annually, in any case", cron("@Annually"), { start: "2021-11-19T10:30:00Z", n: 1 }, ["2022-01-01T00:00:00Z"]],
    ["L: the last day of each month", cron("0 18 L * *"), from, ["2021-01-31T18:00:00Z", "2021-02-28T18:00:00Z", "2021-03-31T18:00:00Z"]],
    ["L in February of a leap year", cron("0 0 L 2 *"), { start: "2023-03-01T00:00:00Z", n: 1 }, ["2024-02-29T00:00:00Z"]],
    ["L beside days: the 15th and the last", cron("0 0 15,L * *"), from, ["2021-01-15T00:00:00Z", "2021-01-31T00:00:00Z", "2021-02-15T00:00:00Z"]],
    ["a range to L", cron("0 0 30-L * *"), from, ["2021-01-30T00:00:00Z", "2021-01-31T00:00:00Z", "2021-03-30T00:00:00Z"]],
    ["L5 (croniter): the last Friday", cron("0 9 * * L5"), from, ["2021-01-29T09:00:00Z", "2021-02-26T09:00:00Z", "2021-03-26T09:00:00Z"]],
    ["5L (Quartz): the last Friday too", cron("0 9 * * 5L"), from, ["2021-01-29T09:00:00Z", "2021-02-26T09:00:00Z", "2021-03-26T09:00:00Z"]],
    ["1#2: the second Monday", cron("0 9 * * 1#2"), from, ["2021-01-11T09:00:00Z", "2021-02-08T09:00:00Z", "2021-03-08T09:00:00Z"]],
    ["mon#5: only months with five Mondays", cron("0 9 * * mon#5"), from, ["2021-03-29T09:00:00Z", "2021-05-31T09:00:00Z", "2021-08-30T09:00:00Z"]],
    ["sat#1,sun#2", cron("0 0 * * sat#1,sun#2"), from, ["2021-01-02T00:00:00Z", "2021-01-10T00:00:00Z", "2021-02-06T00:00:00Z"]],
    ["# OR a day of month (day_or)", cron("0 0 1 * 1#2"), from, ["2021-01-01T00:00:00Z", "2021-01-11T00:00:00Z", "2021-02-01T00:00:00Z"]],
    ["29 February that is a Monday (day_or false) is years away", cron("0 0 29 2 1", null, false), { start: "2021-01-01T00:00:00Z", n: 2 }, ["2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z"]],
    ["a day that never comes ends with no dates", cron("0 0 31 2 *"), from, []]
  ])
})

describe("cron schedules across DST: wall-clock times, as croniter", () => {
  table([
    ["New York, spring forward: 02:30 does not exist, it runs at 03:30 EDT", cron("30 2 * * *", NY), { start: "2021-03-13T00:00:00Z", n: 3 }, ["2021-03-13T07:30:00Z", "2021-03-14T07:30:00Z", "2021-03-15T06:30:00Z"]],
    ["New York, spring forward, hourly: 01:00 EST, 03:00 EDT (once), 04:00 EDT", cron("0 * * * *", NY), { start: "2021-03-14T05:00:00Z", n: 4 }, ["2021-03-14T05:00:00Z", "2021-03-14T06:00:00Z", "2021-03-14T07:00:00Z", "2021-03-14T08:00:00Z"]],
    ["New York, fall back: 01:30 happens twice, it runs once, at the first", cron("30 1 * * *", NY), { start: "2021-11-06T00:00:00Z", n: 3 }, ["2021-11-06T05:30:00Z", "2021-11-07T05:30:00Z", "2021-11-08T06:30:00Z"]],
    ["New York, fall back, hourly: a two-hour gap, no second 01:00", cron("0 * * * *", NY), { start: "2021-11-07T04:00:00Z", n: 4 }, ["2021-11-07T04:00:00Z", "2021-11-07T05:00:00Z", "2021-11-07T07:00:00Z", "2021-11-07T08:00:00Z"]],
    ["New York: 9 am stays 9 am local", cron("0 9 * * *", NY), { start: "2021-11-06T00:00:00Z", n: 3 }, ["2021-11-06T13:00:00Z", "2021-11-07T14:00:00Z", "2021-11-08T14:00:00Z"]],
    ["Berlin, spring forward: 02:30 runs at 03:30 CEST", cron("30 2 * * *", BERLIN), { start: "2021-03-27T00:00:00Z", n: 3 }, ["2021-03-27T01:30:00Z", "2021-03-28T01:30:00Z", "2021-03-29T00:30:00Z"]],
    ["Berlin, spring forward, every 30 minutes: 01:30 CET then 03:00 CEST", cron("*/30 * * * *", BERLIN), { start: "2021-03-28T00:30:00Z", n: 3 }, ["2021-03-28T00:30:00Z", "2021-03-28T01:00:00Z", "2021-03-28T01:30:00Z"]],
    ["Berlin, fall back: 02:30 runs once, at the first", cron("30 2 * * *", BERLIN), { start: "2021-10-30T00:00:00Z", n: 3 }, ["2021-10-30T00:30:00Z", "2021-10-31T00:30:00Z", "2021-11-01T01:30:00Z"]],
    ["Berlin, fall back, hourly: 01:00, 02:00 CEST, then 03:00 CET", cron("0 * * * *", BERLIN), { start: "2021-10-30T23:00:00Z", n: 4 }, ["2021-10-30T23:00:00Z", "2021-10-31T00:00:00Z", "2021-10-31T02:00:00Z", "2021-10-31T03:00:00Z"]],
    ["Berlin: the last Sunday of March at 02:30 (L, DST) runs at 03:30 CEST", cron("30 2 * 3 L0", BERLIN), { start: "2021-01-01T00:00:00Z", n: 2 }, ["2021-03-28T01:30:00Z", "2022-03-27T01:30:00Z"]]
  ])
})

describe("rrule schedules: each feature", () => {
  table([
    ["DTSTART and a daily rule in the zone", rrule("DTSTART:20211101T090000\nRRULE:FREQ=DAILY", NY), { start: "2021-11-06T00:00:00Z", n: 3 }, ["2021-11-06T13:00:00Z", "2021-11-07T14:00:00Z", "2021-11-08T14:00:00Z"]],
    ["no DTSTART: from 2020-01-01 00:00", rrule("FREQ=HOURLY;INTERVAL=6"), { start: "2021-11-19T01:00:00Z", n: 2 }, ["2021-11-19T06:00:00Z", "2021-11-19T12:00:00Z"]],
    ["BYDAY ordinal: the 2nd Friday", rrule("FREQ=MONTHLY;BYDAY=2FR"), { start: "2021-11-01T00:00:00Z", n: 3 }, ["2021-11-12T00:00:00Z", "2021-12-10T00:00:00Z", "2022-01-14T00:00:00Z"]],
    ["BYDAY from the end, BYHOUR", rrule("FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=12"), { start: "2021-11-01T00:00:00Z", n: 2 }, ["2021-11-28T12:00:00Z", "2021-12-26T12:00:00Z"]],
    ["COUNT counts from DTSTART", rrule("DTSTART:20211101T100000Z RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4"), { start: "2021-11-06T00:00:00Z", n: 10 }, ["2021-11-08T10:00:00Z", "2021-11-10T10:00:00Z"]],
    ["UNTIL and EXDATE", rrule("DTSTART:20211101T100000Z\nRRULE:FREQ=DAILY;UNTIL=20211104T100000Z\nEXDATE:20211102T100000Z"), { start: "2021-11-01T00:00:00Z", n: 10 }, ["2021-11-01T10:00:00Z", "2021-11-03T10:00:00Z", "2021-11-04T10:00:00Z"]],
    ["UNTIL as a date takes in that whole day", rrule("DTSTART:20211101T100000\nRRULE:FREQ=DAILY;UNTIL=20211103"), { start: "2021-11-01T00:00:00Z", n: 10 }, ["2021-11-01T10:00:00Z", "2021-11-02T10:00:00Z", "2021-11-03T10:00:00Z"]],
    ["BYMONTHDAY from the end in a leap year", rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"), { start: "2023-01-01T00:00:00Z", n: 2 }, ["2023-02-28T00:00:00Z", "2024-02-29T00:00:00Z"]],
    ["INTERVAL of weeks keeps DTSTART's phase", rrule("DTSTART;TZID=Europe/Berlin:20210101T080000 RRULE:FREQ=WEEKLY;INTERVAL=2", BERLIN), { start: "2021-06-01T00:00:00Z", n: 1 }, ["2021-06-04T06:00:00Z"]],
    ["a rule that never matches has no dates", rrule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31"), { start: "2021-01-01T00:00:00Z", n: 1 }, []],
    ["BYSETPOS=-1: the last weekday of the month", rrule("DTSTART:20210101T090000\nRRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"), { start: "2021-01-01T00:00:00Z", n: 3 }, ["2021-01-29T09:00:00Z", "2021-02-26T09:00:00Z", "2021-03-31T09:00:00Z"]],
    ["BYSETPOS=1,-1: the first and last weekend day", rrule("DTSTART:20210101T090000\nRRULE:FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1,-1"), { start: "2021-01-01T00:00:00Z", n: 4 }, ["2021-01-02T09:00:00Z", "2021-01-31T09:00:00Z", "2021-02-06T09:00:00Z", "2021-02-28T09:00:00Z"]],
    ["BYSETPOS over times: the second of three hours", rrule("DTSTART:20210101T000000\nRRULE:FREQ=DAILY;BYHOUR=9,12,17;BYSETPOS=2"), { start: "2021-01-01T00:00:00Z", n: 2 }, ["2021-01-01T12:00:00Z", "2021-01-02T12:00:00Z"]],
    ["BYWEEKNO with BYDAY: Monday of week 20", rrule("DTSTART:20210101T090000\nRRULE:FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO"), { start: "2021-01-01T00:00:00Z", n: 3 }, ["2021-05-17T09:00:00Z", "2022-05-16T09:00:00Z", "2023-05-15T09:00:00Z"]],
    ["BYWEEKNO alone: every day of week 1 (dateutil)", rrule("DTSTART:20210101T090000\nRRULE:FREQ=YEARLY;BYWEEKNO=1"), { start: "2021-01-01T00:00:00Z", n: 8 }, ["2021-01-04T09:00:00Z", "2021-01-05T09:00:00Z", "2021-01-06T09:00:00Z", "2021-01-07T09:00:00Z", "2021-01-08T09:00:00Z", "2021-01-09T09:00:00Z", "2021-01-10T09:00:00Z", "2022-01-03T09:00:00Z"]],
    ["BYWEEKNO=-1 with WKST=SU: the Sunday of the last week", rrule("DTSTART:20210101T090000\nRRULE:FREQ=YEARLY;BYWEEKNO=-1;BYDAY=SU;WKST=SU"), { start: "2021-01-01T00:00:00Z", n: 2 }, ["2021-12-26T09:00:00Z", "2022-12-25T09:00:00Z"]],
    ["BYWEEKNO=53 only in years that have it", rrule("DTSTART:20200101T090000\nRRULE:FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO"), { start: "2020-01-01T00:00:00Z", n: 2 }, ["2020-12-28T09:00:00Z", "2026-12-28T09:00:00Z"]],
    ["BYYEARDAY from both ends", rrule("DTSTART:20210101T090000\nRRULE:FREQ=YEARLY;BYYEARDAY=1,100,-1"), { start: "2021-01-01T00:00:00Z", n: 4 }, ["2021-01-01T09:00:00Z", "2021-04-10T09:00:00Z", "2021-12-31T09:00:00Z", "2022-01-01T09:00:00Z"]],
    ["BYYEARDAY=366 only in leap years", rrule("DTSTART:20210101T090000\nRRULE:FREQ=YEARLY;BYYEARDAY=366"), { start: "2021-01-01T00:00:00Z", n: 2 }, ["2024-12-31T09:00:00Z", "2028-12-31T09:00:00Z"]],
    ["BYYEARDAY filters an hourly rule", rrule("DTSTART:20211231T220000\nRRULE:FREQ=HOURLY;BYYEARDAY=-1;BYMINUTE=15"), { start: "2021-12-31T00:00:00Z", n: 3 }, ["2021-12-31T22:15:00Z", "2021-12-31T23:15:00Z", "2022-12-31T00:15:00Z"]],
    ["RDATE adds, EXDATE removes, each in its TZID; COUNT still counts the removed one", rrule("DTSTART;TZID=Europe/Berlin:20210101T090000\nRRULE:FREQ=DAILY;COUNT=4\nEXDATE;TZID=Europe/Berlin:20210102T090000\nRDATE;TZID=Europe/Berlin:20210101T120000"), { start: "2021-01-01T00:00:00Z", n: 10 }, ["2021-01-01T08:00:00Z", "2021-01-01T11:00:00Z", "2021-01-03T08:00:00Z", "2021-01-04T08:00:00Z"]],
    ["RDATE and EXDATE lists, in UTC and in another zone", rrule("DTSTART:20210101T090000\nRRULE:FREQ=DAILY;COUNT=3\nRDATE:20210110T000000Z,20210111T000000Z\nEXDATE;TZID=America/New_York:20210102T040000,20210110T190000"), { start: "2021-01-01T00:00:00Z", n: 10 }, ["2021-01-01T09:00:00Z", "2021-01-03T09:00:00Z", "2021-01-10T00:00:00Z"]],
    ["RDATE only within the window", rrule("DTSTART:20210101T090000\nRRULE:FREQ=YEARLY\nRDATE:20210601T090000"), { start: "2021-02-01T00:00:00Z", end: "2021-12-31T00:00:00Z" }, ["2021-06-01T09:00:00Z"]]
  ])
})

describe("rrule schedules across DST: wall-clock times placed in the zone, as cron", () => {
  table([
    ["New York, spring forward: DTSTART;TZID at 02:30 runs at 03:30 EDT that day", rrule("DTSTART;TZID=America/New_York:20210313T023000\nRRULE:FREQ=DAILY"), { start: "2021-03-13T00:00:00Z", n: 3 }, ["2021-03-13T07:30:00Z", "2021-03-14T07:30:00Z", "2021-03-15T06:30:00Z"]],
    ["New York, fall back: 01:30 once, at the first", rrule("DTSTART:20211106T013000\nRRULE:FREQ=DAILY", NY), { start: "2021-11-06T00:00:00Z", n: 3 }, ["2021-11-06T05:30:00Z", "2021-11-07T05:30:00Z", "2021-11-08T06:30:00Z"]],
    ["New York, fall back, hourly: no second 01:00", rrule("DTSTART:20211107T000000\nRRULE:FREQ=HOURLY", NY), { start: "2021-11-07T04:00:00Z", n: 4 }, ["2021-11-07T04:00:00Z", "2021-11-07T05:00:00Z", "2021-11-07T07:00:00Z", "2021-11-07T08:00:00Z"]],
    ["Berlin, spring forward, hourly: 02:00 becomes 03:00 CEST, once", rrule("DTSTART:20210328T000000\nRRULE:FREQ=HOURLY", BERLIN), { start: "2021-03-27T23:00:00Z", n: 4 }, ["2021-03-27T23:00:00Z", "2021-03-28T00:00:00Z", "2021-03-28T01:00:00Z", "2021-03-28T02:00:00Z"]],
    ["Berlin, fall back: 02:30 once, at the first", rrule("DTSTART;TZID=Europe/Berlin:20211030T023000\nRRULE:FREQ=DAILY;COUNT=3", BERLIN), { start: "2021-10-01T00:00:00Z", n: 5 }, ["2021-10-30T00:30:00Z", "2021-10-31T00:30:00Z", "2021-11-01T01:30:00Z"]],
    ["New York, spring forward: BYSETPOS picks 02:45 (→ 03:45 EDT) and 03:15; the first date is 03:15", rrule("FREQ=DAILY;BYHOUR=2,3;BYMINUTE=15,45;BYSETPOS=2,3", NY), { start: "2021-03-14T05:00:00Z", n: 1 }, ["2021-03-14T07:15:00Z"]],
    ["Berlin, the last Sunday of March and October at 02:30", rrule("FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU;BYHOUR=2;BYMINUTE=30", BERLIN), { start: "2021-01-01T00:00:00Z", n: 2 }, ["2021-03-28T01:30:00Z", "2021-10-31T00:30:00Z"]]
  ])
})

describe("refused schedules name what is wrong", () => {
  it.each([
    [rrule("FREQ=DAILY;BYEASTER=0"), "BYEASTER is not an RRULE part"],
    [rrule("FREQ=DAILY;X-NAME=1"), "X-NAME is not an RRULE part"],
    [rrule("FREQ=DAILY;BYSETPOS=1"), "BYSETPOS needs another BYxxx part"],
    [rrule("FREQ=MONTHLY;BYWEEKNO=1"), "BYWEEKNO needs FREQ=YEARLY"],
    [rrule("FREQ=DAILY;BYYEARDAY=1"), "BYYEARDAY cannot be used with FREQ=DAILY"],
    [rrule("FREQ=WEEKLY;BYMONTHDAY=1"), "BYMONTHDAY cannot be used with FREQ=WEEKLY"],
    [rrule("FREQ=YEARLY;BYYEARDAY=367"), "BYYEARDAY value \"367\" is out of range"],
    [rrule("FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO"), "BYDAY ordinals cannot be used with BYWEEKNO"],
    [rrule("FREQ=DAILY;COUNT=2;COUNT=3"), "COUNT is given twice"],
    [rrule("FREQ=DAILY;INTERVAL"), "INTERVAL has no value"],
    [rrule("FREQ=DAILY;COUNT=2;UNTIL=20220101"), "COUNT and UNTIL cannot both be given"],
    [rrule("DTSTART:20210101T000000 RRULE:FREQ=DAILY EXRULE:FREQ=WEEKLY"), "EXRULE is not supported"],
    [rrule("RRULE:FREQ=DAILY X-FOO:1"), "X-FOO is not supported"],
    [rrule("RRULE:FREQ=DAILY RDATE;VALUE=PERIOD:20210101T000000Z/PT1H"), "VALUE=PERIOD is not supported"],
    [rrule("DTSTART;FOO=1:20210101T000000 RRULE:FREQ=DAILY"), "parameter FOO of DTSTART is not supported"],
    [rrule("INTERVAL=2"), "expected FREQ="],
    [rrule("RRULE:INTERVAL=2"), "FREQ must be one of"],
    [rrule("FREQ=WEEKLY;BYDAY=2MO"), "ordinals need FREQ=MONTHLY or FREQ=YEARLY"],
    [rrule("DTSTART;TZID=Mars/Base:20210101T000000 RRULE:FREQ=DAILY"), "unknown time zone \"Mars/Base\""],
    [rrule("DTSTART;TZID=Europe/Berlin:20210101T080000 RRULE:FREQ=DAILY", NY), 'set "timezone" to "Europe/Berlin"'],
    [rrule("DTSTART:2021-01-01 RRULE:FREQ=DAILY"), "invalid date \"2021-01-01\""],
    [rrule("DTSTART:20210230T090000 RRULE:FREQ=DAILY"), "invalid date \"20210230T090000\": no such day or time"],
    [rrule("FREQ=DAILY;UNTIL=20211301"), "invalid date \"20211301\": no such day or time"],
    [rrule("FREQ=DAILY;=1"), "\"=1\" names no RRULE part"],
    [cron("@fortnightly"), "unknown alias"],
    [cron("0 0 * *"), "expected 5 fields"],
    [cron("61 0 * * *"), "minute field \"61\""],
    [cron("0 0 LW * *"), "W (nearest weekday) is not supported"],
    [cron("0 0 * * L"), "\"L\" needs a weekday"],
    [cron("0 0 * * 1#6"), "the week number after # must be 1–5"],
    [cron("0 0 * * 9L"), "names no weekday"]
  ])("%j → %s", (schedule, reason) => {
    expect(refusal(schedule)).toContain(reason)
  })
})

describe("rrule with a DTSTART TZID and the default UTC timezone", () => {
  it("takes its zone from the TZID", () => {
    expect(dates(rrule("DTSTART;TZID=Europe/Berlin:20210101T080000 RRULE:FREQ=DAILY"), { start: "2021-07-01T00:00:00Z", n: 1 })).toEqual(["2021-07-01T06:00:00Z"])
  })
})
