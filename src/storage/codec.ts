/** Moves values between domain objects and rows: JSON, booleans and timestamps differ between SQLite and PostgreSQL. */
import { Schema } from "effect"
import { formatTimestamp } from "../domain/primitives.js"
import type { Dialect } from "./database.js"

/** How a table's columns are stored, so rows can be normalised back to their wire shape before decoding. */
export interface TableColumns {
  readonly json?: ReadonlyArray<string>
  readonly bool?: ReadonlyArray<string>
  /** Integer columns that pg returns as strings (BIGSERIAL, COUNT). */
  readonly int?: ReadonlyArray<string>
}

/** A lone surrogate as `JSON.stringify` writes it: a `\udXXX` escape, not preceded by an escaped backslash. */
const loneSurrogate = /(?<=(?:^|[^\\])(?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g

/**
 * The JSON text of a value, for a JSON column. UTF-8 cannot hold a lone surrogate: PostgreSQL refuses one in jsonb
 * (and text columns store U+FFFD in its place), so JSON columns get U+FFFD too, on both databases.
 */
export const jsonText = (value: unknown): string => {
  const text = JSON.stringify(value)
  return text.includes("\\ud") ? text.replace(loneSurrogate, "\\ufffd") : text
}

/** A value ready to bind: objects/arrays → JSON text, booleans → 1/0 on SQLite, Dates → fixed-width UTC text. */
export const toDb = (dialect: Dialect, value: unknown): unknown => {
  if (value === undefined || value === null) return null
  if (value instanceof Date) return formatTimestamp(value)
  if (typeof value === "boolean") return dialect === "sqlite" ? (value ? 1 : 0) : value
  if (typeof value === "object") return jsonText(value)
  return value
}

/** Binds every field of a row with `toDb`. */
export const rowToDb = (dialect: Dialect, row: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k in row) out[k] = toDb(dialect, row[k])
  return out
}

/** Normalises a raw row to the encoded (wire) shape: Dates → ISO text, JSON text → values, 0/1 → booleans. */
export const normalizeRow = (row: Record<string, any>, columns: TableColumns): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k in row) {
    const v = row[k]
    out[k] = v instanceof Date ? formatTimestamp(v) : v
  }
  for (const k of columns.json ?? []) {
    const v = out[k]
    if (typeof v === "string") out[k] = JSON.parse(v)
  }
  for (const k of columns.bool ?? []) {
    const v = out[k]
    if (v !== null && v !== undefined) out[k] = v === true || v === 1 || v === "1" || v === "t"
  }
  for (const k of columns.int ?? []) {
    const v = out[k]
    if (typeof v === "string" || typeof v === "bigint") out[k] = Number(v)
  }
  return out
}

/** Decodes a raw row through the domain Schema (the single source of truth). */
export const decodeRow = <A, I>(schema: Schema.Schema<A, I>, columns: TableColumns) => {
  const decode = Schema.decodeUnknownSync(schema)
  return (row: Record<string, any>): A => decode(normalizeRow(row, columns))
}
