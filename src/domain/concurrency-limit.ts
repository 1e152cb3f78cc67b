/** A tag concurrency limit: at most `concurrency_limit` task runs with the tag may be RUNNING (spec §11). */
import { Schema } from "effect"
import { BaseFields } from "./base.js"
import { Int32, Key, Uuid } from "./primitives.js"

export const ConcurrencyLimit = Schema.Struct({
  ...BaseFields,
  tag: Schema.String,
  concurrency_limit: Schema.Int,
  active_slots: Schema.Array(Uuid)
}).annotations({ identifier: "ConcurrencyLimit" })
export type ConcurrencyLimit = typeof ConcurrencyLimit.Type

export const ConcurrencyLimitCreate = Schema.Struct({
  tag: Key.pipe(Schema.minLength(1)),
  concurrency_limit: Int32.pipe(Schema.nonNegative())
}).annotations({ identifier: "ConcurrencyLimitCreate" })
export type ConcurrencyLimitCreate = typeof ConcurrencyLimitCreate.Type
