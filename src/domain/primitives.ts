/** Wire primitives shared by every domain schema: ids, timestamps, durations, tags, JSON objects (spec §0.1). */
import { ParseResult, Schema } from "effect"

/** A lowercase hyphenated UUID string. */
export const Uuid = Schema.UUID.pipe(Schema.brand("Uuid"))
export type Uuid = typeof Uuid.Type

let lastMs = 0
let sequence = 0
const hexByte = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))
/** Random bytes drawn 4 KB at a time: one `getRandomValues` call per 512 ids rather than one per id. */
const pool = new Uint8Array(4096)
let poolAt = pool.length
const random8 = (): string => {
  if (poolAt + 8 > pool.length) {
    crypto.getRandomValues(pool)
    poolAt = 0
  }
  const b = pool
  const i = poolAt
  poolAt += 8
  // RFC 9562 variant bits (10xx) on the first of these bytes
  return `${hexByte[(b[i]! & 0x3f) | 0x80]}${hexByte[b[i + 1]!]}-${hexByte[b[i + 2]!]}${hexByte[b[i + 3]!]}${hexByte[b[i + 4]!]}${hexByte[b[i + 5]!]}${hexByte[b[i + 6]!]}${hexByte[b[i + 7]!]}`
}
/**
 * A fresh time-ordered UUID (version 7): ids made later sort later, so new rows append to the right edge of every
 * id index instead of dirtying random pages — most of the cost of a commit on SQLite.
 */
export const newUuid = (): Uuid => {
  const now = Date.now()
  sequence = now === lastMs ? (sequence + 1) & 0xfff : Math.floor(Math.random() * 0x800)
  lastMs = now
  const hex = now.toString(16).padStart(12, "0")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${sequence.toString(16).padStart(3, "0")}-${random8()}` as Uuid
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

let lastFormatted = { time: Number.NaN, text: "" }
/**
 * Formats a Date as the fixed-width UTC ISO-8601 form used on the wire and in SQLite: `2021-11-19T10:00:00.123000+00:00`.
 * The last answer is kept: an orchestrator batch formats the same instant for every state, decision and event in it.
 */
export const formatTimestamp = (d: Date): string => {
  const time = d.getTime()
  if (time === lastFormatted.time) return lastFormatted.text
  const text = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000+00:00`
  lastFormatted = { time, text }
  return text
}

const isoWithZone = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i

/** A point in time: ISO-8601 with an offset on the wire, a `Date` in TypeScript. Naive times (no offset) are rejected. */
export const Timestamp = Schema.transformOrFail(
  Schema.String.annotations({ description: "ISO-8601 date-time with offset, e.g. 2021-11-19T10:00:00+00:00" }),
  Schema.ValidDateFromSelf,
  {
    strict: true,
    decode: (s, _, ast) => {
      const d = new Date(s)
      return isoWithZone.test(s) && !Number.isNaN(d.getTime())
        ? ParseResult.succeed(d)
        : ParseResult.fail(new ParseResult.Type(ast, s, `Expected an ISO-8601 date-time with a UTC offset, got ${JSON.stringify(s)}`))
    },
    encode: (d) => ParseResult.succeed(formatTimestamp(d))
  }
).annotations({ identifier: "Timestamp" })
export type Timestamp = typeof Timestamp.Type

/** A duration in float seconds (spec §0.1). */
export const Seconds = Schema.Number.pipe(Schema.finite(), Schema.annotations({ identifier: "Seconds", description: "duration in seconds" }))

/** A list of tags; absent means empty. */
export const Tags = Schema.Array(Schema.String)

/** A free-form JSON object. */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export type JsonObject = typeof JsonObject.Type

/** An optional request field that becomes `default` when absent or null. */
export const withDefault = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value, nullable: true })

/** An optional request field that becomes null when absent. */
export const nullable = <S extends Schema.Schema.Any>(schema: S) =>
  Schema.optionalWith(Schema.NullOr(schema), { default: () => null })

/** Request payloads forbid unknown fields (spec §0.1): decode with this option. */
export const strictParse = { onExcessProperty: "error", errors: "all" } as const
