/** Wire primitives shared by every domain schema: ids, timestamps, durations, tags, JSON objects (spec §0.1). */
import { ParseResult, Schema } from "effect"

/** A lowercase hyphenated UUID string. */
export const Uuid = Schema.UUID.pipe(Schema.brand("Uuid"))
export type Uuid = typeof Uuid.Type

let lastMs = 0
let sequence = 0
/** Random bytes drawn 4 KB at a time: one `getRandomValues` call per 512 ids rather than one per id. */
const pool = new Uint8Array(4096)
let poolAt = pool.length
const hexCodes = Array.from("0123456789abcdef", (c) => c.charCodeAt(0))
/** The id's characters, written in place: dashes and the version digit never change. */
const chars = new Uint8Array(36)
/**
 * The characters as a string: on Node, Buffer's latin1 decoder makes the string straight from the bytes (3× faster
 * than `String.fromCharCode.apply`, which copies them into an arguments list first); elsewhere, that fallback.
 */
const charsToString: () => string = typeof Buffer === "function"
  ? ((view) => () => view.toString("latin1", 0, 36))(Buffer.from(chars.buffer, chars.byteOffset, 36))
  : () => String.fromCharCode.apply(null, chars as unknown as Array<number>)
chars[8] = chars[13] = chars[18] = chars[23] = 0x2d
chars[14] = 0x37
/** Writes `value`'s low `digits` hex digits ending at `end` (exclusive). */
const writeHex = (value: number, end: number, digits: number) => {
  for (let i = end - 1; i >= end - digits; i--) {
    chars[i] = hexCodes[value & 15]!
    value >>>= 4
  }
}
/**
 * A fresh time-ordered UUID (version 7): ids made later sort later, so new rows append to the right edge of every
 * id index instead of dirtying random pages — most of the cost of a commit on SQLite. Built from its character codes
 * in one string (a template literal made a rope of a dozen pieces per id, flattened again wherever it was used).
 */
export const newUuid = (): Uuid => {
  const now = Date.now()
  sequence = now === lastMs ? (sequence + 1) & 0xfff : Math.floor(Math.random() * 0x800)
  lastMs = now
  // 48 bits of milliseconds: the high 24 in the first six digits, the low 24 in the next two and the four after the dash
  const low = now % 0x1000000
  writeHex(Math.floor(now / 0x1000000), 6, 6)
  writeHex(low >>> 16, 8, 2)
  writeHex(low & 0xffff, 13, 4)
  writeHex(sequence, 18, 3)
  if (poolAt + 8 > pool.length) {
    crypto.getRandomValues(pool)
    poolAt = 0
  }
  // RFC 9562 variant bits (10xx) on the first random byte
  writeHex(((pool[poolAt]! & 0x3f) | 0x80) << 8 | pool[poolAt + 1]!, 23, 4)
  for (let k = 2, end = 26; k < 8; k++, end += 2) writeHex(pool[poolAt + k]!, end, 2)
  poolAt += 8
  return charsToString() as Uuid
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
  const text = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000+00:00`
  lastFormatted = { time, text }
  return text
}

const isoWithZone = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i

/** Instants whose UTC year has four digits (1–9999): the only ones `formatTimestamp` writes as it reads them back. */
const inRange = (d: Date) => {
  const year = d.getUTCFullYear()
  return year >= 1 && year <= 9999
}

/** A point in time: ISO-8601 with an offset on the wire, a `Date` in TypeScript. Naive times (no offset) are rejected. */
export const Timestamp = Schema.transformOrFail(
  Schema.String.annotations({ description: "ISO-8601 date-time with offset, e.g. 2021-11-19T10:00:00+00:00" }),
  Schema.ValidDateFromSelf,
  {
    strict: true,
    decode: (s, _, ast) => {
      const d = new Date(s)
      if (!isoWithZone.test(s) || Number.isNaN(d.getTime())) {
        return ParseResult.fail(new ParseResult.Type(ast, s, `Expected an ISO-8601 date-time with a UTC offset, got ${JSON.stringify(s)}`))
      }
      return inRange(d)
        ? ParseResult.succeed(d)
        : ParseResult.fail(new ParseResult.Type(ast, s, `Expected a date-time between the years 1 and 9999 (UTC), got ${JSON.stringify(s)}`))
    },
    encode: (d) => ParseResult.succeed(formatTimestamp(d))
  }
).annotations({ identifier: "Timestamp" })
export type Timestamp = typeof Timestamp.Type

/** A duration in float seconds (spec §0.1). */
export const Seconds = Schema.Number.pipe(Schema.finite(), Schema.annotations({ identifier: "Seconds", description: "duration in seconds" }))

/**
 * The longest name or key a request may store in an indexed column. UTF-8 takes at most 3 bytes per UTF-16 unit, so
 * even an entry of the (flow run, task key, dynamic key) index stays under PostgreSQL's B-tree limit of 2,704 bytes.
 */
export const MAX_KEY_LENGTH = 400

/** A name or key kept in an indexed column: at most `MAX_KEY_LENGTH` characters. */
export const Key = Schema.String.pipe(Schema.maxLength(MAX_KEY_LENGTH, { message: () => `at most ${MAX_KEY_LENGTH} characters` }))

/** An integer stored in, or compared with, an INTEGER column: 32 bits on PostgreSQL. */
export const Int32 = Schema.Int.pipe(Schema.between(-(2 ** 31), 2 ** 31 - 1, { message: () => "must be an integer between -2147483648 and 2147483647" }))

/** A list of tags; absent means empty. */
export const Tags = Schema.Array(Schema.String)

/** A free-form JSON object. */
// Any JSON value, named so that OpenAPI defines it once and refers to it (Schema.Unknown's JSON Schema carries an
// `$id`, which a document may define only once).
const JsonValue = Schema.Unknown.annotations({ identifier: "JsonValue", description: "Any JSON value" })
export const JsonObject = Schema.Record({ key: Schema.String, value: JsonValue })
export type JsonObject = typeof JsonObject.Type

/** An optional request field that becomes `default` when absent or null. */
export const withDefault = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value, nullable: true })

/** An optional request field that becomes null when absent. */
export const nullable = <S extends Schema.Schema.Any>(schema: S) =>
  Schema.optionalWith(Schema.NullOr(schema), { default: () => null })

/** Request payloads forbid unknown fields (spec §0.1): decode with this option. */
export const strictParse = { onExcessProperty: "error", errors: "all" } as const
