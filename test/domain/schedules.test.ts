/** The dates of interval, cron and RRule schedules (spec §6): windows, counts, time zones and DST, refused rules. */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import type { Schedule } from "../../src/domain/index.js"
import { scheduleDates } from "../../src/domain/schedules/dates.js"

const dates = (schedule: Schedule, query: { n?: number; start: string; end?: string }) => {
  const result = scheduleDates(schedule, { n: query.n ?? null, start: new Date(query.start), end: query.end ? new Date(query.end) : null })
  if (Either.isLeft(result)) throw new Error(result.left)
  return result.right.map((d) => d.toISOString())
}
const refusal = (schedule: Schedule) => Either.getLeft(scheduleDates(schedule, { n: 1, start: new Date(0) }))

const interval = (seconds: number, extra: Partial<{ timezone: string | null; anchor_date: Date | null }> = {}): Schedule =>
  ({ interval: seconds, timezone: null, anchor_date: null, ...extra })
const cron = (expr: string, timezone: string | null = null, day_or = true): Schedule => ({ cron: expr, timezone, day_or })
const rrule = (rule: string, timezone = "UTC"): Schedule => ({ rrule: rule, timezone })

describe("schedule dates", () => {
  it("interval: anchored at 2020-01-01, on or after start; n defaults to 1 without an end", () => {
    expect(dates(interval(3600), { start: "2021-11-19T10:30:00Z", n: 3 })).toEqual(["2021-11-19T11:00:00.000Z", "2021-11-19T12:00:00.000Z", "2021-11-19T13:00:00.000Z"])
    expect(dates(interval(3600), { start: "2021-11-19T10:00:00Z" })).toEqual(["2021-11-19T10:00:00.000Z"])
    expect(dates(interval(6 * 3600), { start: "2021-11-19T00:00:00Z", end: "2021-11-20T00:00:00Z" })).toHaveLength(5)
    const anchored = interval(90, { anchor_date: new Date("2021-11-19T10:00:30Z") })
    expect(dates(anchored, { start: "2021-11-19T10:00:00Z", n: 2 })).toEqual(["2021-11-19T10:00:30.000Z", "2021-11-19T10:02:00.000Z"])
  })

  it("interval: whole days keep the local hour across DST; shorter intervals follow absolute time", () => {
    const daily = interval(86_400, { timezone: "America/New_York" })
    expect(dates(daily, { start: "2021-11-06T00:00:00Z", n: 3 })).toEqual(["2021-11-06T04:00:00.000Z", "2021-11-07T04:00:00.000Z", "2021-11-08T05:00:00.000Z"])
    const hourly = interval(3600, { timezone: "America/New_York" })
    expect(dates(hourly, { start: "2021-11-07T05:00:00Z", n: 3 })).toEqual(["2021-11-07T05:00:00.000Z", "2021-11-07T06:00:00.000Z", "2021-11-07T07:00:00.000Z"])
  })

  it("cron: includes a match at start, keeps wall-clock time in its zone, honours day_or", () => {
    expect(dates(cron("0 0 * * *"), { start: "2021-11-19T00:00:00Z", n: 2 })).toEqual(["2021-11-19T00:00:00.000Z", "2021-11-20T00:00:00.000Z"])
    expect(dates(cron("0 0 * * *"), { start: "2021-11-19T00:00:00.500Z", n: 1 })).toEqual(["2021-11-20T00:00:00.000Z"])
    expect(dates(cron("0 9 * * *", "America/New_York"), { start: "2021-11-06T00:00:00Z", n: 3 }))
      .toEqual(["2021-11-06T13:00:00.000Z", "2021-11-07T14:00:00.000Z", "2021-11-08T14:00:00.000Z"])
    // the 2nd Friday (day 8–14 AND Friday) versus day 8–14 OR Friday
    expect(dates(cron("0 0 8-14 * 5", null, false), { start: "2021-11-01T00:00:00Z", n: 2 })).toEqual(["2021-11-12T00:00:00.000Z", "2021-12-10T00:00:00.000Z"])
    expect(dates(cron("0 0 8-14 * 5", null, true), { start: "2021-11-01T00:00:00Z", n: 2 })).toEqual(["2021-11-05T00:00:00.000Z", "2021-11-08T00:00:00.000Z"])
    expect(dates(cron("*/15 * * * *"), { start: "2021-11-19T10:01:00Z", end: "2021-11-19T11:00:00Z" })).toHaveLength(4)
  })

  it("rrule: DTSTART and UNTIL in the zone, BYDAY ordinals, COUNT from DTSTART, EXDATE", () => {
    expect(dates(rrule("DTSTART:20211101T090000\nRRULE:FREQ=DAILY", "America/New_York"), { start: "2021-11-06T00:00:00Z", n: 3 }))
      .toEqual(["2021-11-06T13:00:00.000Z", "2021-11-07T14:00:00.000Z", "2021-11-08T14:00:00.000Z"])
    expect(dates(rrule("FREQ=MONTHLY;BYDAY=2FR"), { start: "2021-11-01T00:00:00Z", n: 3 }))
      .toEqual(["2021-11-12T00:00:00.000Z", "2021-12-10T00:00:00.000Z", "2022-01-14T00:00:00.000Z"])
    expect(dates(rrule("FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=12"), { start: "2021-11-01T00:00:00Z", n: 2 }))
      .toEqual(["2021-11-28T12:00:00.000Z", "2021-12-26T12:00:00.000Z"])
    expect(dates(rrule("DTSTART:20211101T100000Z RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4"), { start: "2021-11-06T00:00:00Z", n: 10 }))
      .toEqual(["2021-11-08T10:00:00.000Z", "2021-11-10T10:00:00.000Z"])
    expect(dates(rrule("DTSTART:20211101T100000Z\nRRULE:FREQ=DAILY;UNTIL=20211104T100000Z\nEXDATE:20211102T100000Z"), { start: "2021-11-01T00:00:00Z", n: 10 }))
      .toEqual(["2021-11-01T10:00:00.000Z", "2021-11-03T10:00:00.000Z", "2021-11-04T10:00:00.000Z"])
    expect(dates(rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"), { start: "2023-01-01T00:00:00Z", n: 2 }))
      .toEqual(["2023-02-28T00:00:00.000Z", "2024-02-29T00:00:00.000Z"])
    expect(dates(rrule("DTSTART;TZID=Europe/Berlin:20210101T080000 RRULE:FREQ=WEEKLY;INTERVAL=2", "Europe/Berlin"), { start: "2021-06-01T00:00:00Z", n: 1 }))
      .toEqual(["2021-06-04T06:00:00.000Z"])
    expect(dates(rrule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31"), { start: "2021-01-01T00:00:00Z", n: 1 })).toEqual([])
  })

  it("refuses what it cannot compute, with the reason", () => {
    expect(refusal(rrule("FREQ=DAILY;BYSETPOS=1"))).toEqual(expect.objectContaining({ value: expect.stringContaining("BYSETPOS is not supported") }))
    expect(refusal(rrule("INTERVAL=2"))).toEqual(expect.objectContaining({ value: expect.stringContaining("expected FREQ=") }))
    expect(refusal(rrule("RRULE:INTERVAL=2"))).toEqual(expect.objectContaining({ value: expect.stringContaining("FREQ must be") }))
    expect(refusal(rrule("DTSTART;TZID=Europe/Berlin:20210101T080000 RRULE:FREQ=DAILY"))).toEqual(expect.objectContaining({ value: expect.stringContaining('set "timezone" to "Europe/Berlin"') }))
    expect(refusal(rrule("FREQ=WEEKLY;BYDAY=2MO"))).toEqual(expect.objectContaining({ value: expect.stringContaining("ordinals") }))
    expect(refusal(rrule("DTSTART;TZID=Mars/Base:20210101T000000 RRULE:FREQ=DAILY"))).toEqual(expect.objectContaining({ value: expect.stringContaining("time zone") }))
    expect(refusal(cron("0 0 L * *"))).toEqual(expect.objectContaining({ value: expect.stringContaining("Invalid cron") }))
  })
})
