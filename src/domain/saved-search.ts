/** A named, saved set of UI filters (spec §1.7). */
import { Schema } from "effect"
import { BaseFields } from "./base.js"
import { JsonObject, Key, withDefault } from "./primitives.js"

export const SavedSearch = Schema.Struct({
  ...BaseFields,
  name: Schema.String,
  filters: JsonObject
}).annotations({ identifier: "SavedSearch" })
export type SavedSearch = typeof SavedSearch.Type

export const SavedSearchCreate = Schema.Struct({
  name: Key.pipe(Schema.minLength(1)),
  filters: withDefault(JsonObject, () => ({}))
}).annotations({ identifier: "SavedSearchCreate" })
export type SavedSearchCreate = typeof SavedSearchCreate.Type
