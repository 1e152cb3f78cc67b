/** The domain Schemas: wire format (spec §0.1), strict payloads whose errors name the field, named states, retry delays. */
import { describe, expect, it } from "@effect/vitest"
import { Either, ParseResult, Schema } from "effect"
import {
  baseRetryDelay, CronSchedule, FlowRunCreate, FlowRunFilterRequest, IntervalSchedule, materialize, MAX_RETRY_DELAY_SECONDS, newUuid, RunPolicy,
  Schedule, State, StateCreate, States, strictParse, Timestamp
} from "../../src/domain/index.js"

const decodeStrict = <A, I>(schema: Schema.Schema<A, I>) => (u: unknown) =>
  Either.mapLeft(Schema.decodeUnknownEither(schema, strictParse)(u), (e) => ParseResult.TreeFormatter.formatErrorSync(e))

describe("wire format", () => {
  it("timestamps are ISO-8601 UTC with an offset; naive times are rejected", () => {
    const encode = Schema.encodeSync(Timestamp)
    expect(encode(new Date("2021-11-19T10:00:00Z"))).toBe("2021-11-19T10:00:00.000000+00:00")
    expect(Schema.decodeSync(Timestamp)("2021-11-19T12:00:00+02:00").toISOString()).toBe("2021-11-19T10:00:00.000Z")
    expect(Either.isLeft(Schema.decodeUnknownEither(Timestamp)("2021-11-19T10:00:00"))).toBe(true)
    expect(Either.isLeft(Schema.decodeUnknownEither(Timestamp)("not a date"))).toBe(true)
  })

  it("a state encodes every field, uppercase types and null for absent values", () => {
    const state = materialize(States.Scheduled(), new Date("2021-11-19T10:00:00Z"))
    const wire = Schema.encodeSync(State)(state)
    expect(wire).toMatchObject({
      type: "SCHEDULED", name: "Scheduled", timestamp: "2021-11-19T10:00:00.000000+00:00", message: null, data: null,
      state_details: { scheduled_time: "2021-11-19T10:00:00.000000+00:00", flow_run_id: null, cache_key: null }
    })
    expect(Schema.decodeSync(State)(wire)).toEqual(state)
  })

  it("a proposal without a name gets the type's name, and a SCHEDULED one a scheduled time", () => {
    const p = Schema.decodeUnknownSync(StateCreate)({ type: "CANCELLING" })
    expect(materialize(p, new Date()).name).toBe("Cancelling")
    const s = materialize(Schema.decodeUnknownSync(StateCreate)({ type: "SCHEDULED" }), new Date(5))
    expect(s.state_details.scheduled_time).toEqual(new Date(5))
  })
})

describe("bad input is a decode error that names the field", () => {
  it("wrong types and missing fields", () => {
    const r = decodeStrict(FlowRunCreate)({ flow_id: "nope", tags: "x" })
    expect(Either.isLeft(r)).toBe(true)
    const message = Either.getLeft(r).pipe((o) => o._tag === "Some" ? o.value : "")
    expect(message).toContain("flow_id")
    expect(message).toContain("tags")
  })

  it("unknown fields are rejected by name", () => {
    const r = decodeStrict(FlowRunCreate)({ flow_id: newUuid(), colour: "red" })
    expect(Either.getLeft(r).pipe((o) => o._tag === "Some" ? o.value : "")).toContain("colour")
  })

  it("unknown state types and sorts are rejected; limits are capped at 200", () => {
    expect(Either.isLeft(decodeStrict(StateCreate)({ type: "DONE" }))).toBe(true)
    expect(Either.isLeft(decodeStrict(FlowRunFilterRequest)({ sort: "NAME_ASC" }))).toBe(true)
    const over = decodeStrict(FlowRunFilterRequest)({ limit: 201 })
    expect(Either.getLeft(over).pipe((o) => o._tag === "Some" ? o.value : "")).toContain("limit must be between 0 and 200")
    expect(Either.getOrThrow(decodeStrict(FlowRunFilterRequest)({}))).toMatchObject({ limit: 200, offset: 0, sort: "ID_DESC" })
  })

  it("schedules validate their interval, time zone and cron fields", () => {
    expect(Either.isRight(decodeStrict(Schedule)({ interval: 3600 }))).toBe(true)
    expect(Either.isLeft(decodeStrict(IntervalSchedule)({ interval: 0 }))).toBe(true)
    expect(Either.isLeft(decodeStrict(IntervalSchedule)({ interval: 60, timezone: "Mars/Olympus" }))).toBe(true)
    expect(Either.isLeft(decodeStrict(IntervalSchedule)({ interval: 60, timezone: "UTC", anchor_date: "2021-01-01T00:00:00+00:00" }))).toBe(true)
    expect(Either.isRight(decodeStrict(CronSchedule)({ cron: "0 9 * * 1-5", timezone: "America/New_York" }))).toBe(true)
    expect(Either.isLeft(decodeStrict(CronSchedule)({ cron: "every day" }))).toBe(true)
    expect(Either.isRight(decodeStrict(Schedule)({ rrule: "FREQ=DAILY" }))).toBe(true)
  })
})

describe("retry delays", () => {
  it("a number, a list (last value repeats) or exponential backoff", () => {
    expect([1, 2, 3].map((i) => baseRetryDelay(5, i))).toEqual([5, 5, 5])
    expect([1, 2, 3, 4].map((i) => baseRetryDelay([1, 10, 100], i))).toEqual([1, 10, 100, 100])
    expect([1, 2, 3, 4].map((i) => baseRetryDelay({ exponential_backoff: 2 }, i))).toEqual([2, 4, 8, 16])
    // delays beyond 100 years (given, or grown by backoff) are cut to it, so a retry always has a storable time
    expect([baseRetryDelay(1e300, 1), baseRetryDelay([1e15], 3), baseRetryDelay({ exponential_backoff: 1 }, 5_000)]).toEqual([MAX_RETRY_DELAY_SECONDS, MAX_RETRY_DELAY_SECONDS, MAX_RETRY_DELAY_SECONDS])
    expect(baseRetryDelay({ exponential_backoff: 0 }, 5_000)).toBe(0)
  })

  it("policies default to no retries and reject negative or out-of-range values", () => {
    expect(Schema.decodeUnknownSync(RunPolicy)({})).toEqual({ max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 })
    expect(Either.isLeft(decodeStrict(RunPolicy)({ max_retries: -1 }))).toBe(true)
    expect(Either.isLeft(decodeStrict(RunPolicy)({ retry_delay_seconds: [] }))).toBe(true)
    expect(Either.isLeft(decodeStrict(RunPolicy)({ retry_jitter_factor: 2 }))).toBe(true)
  })
})
