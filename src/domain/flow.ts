/** A flow: the named, globally unique identity of a workflow definition (spec §1.1). */
import { Schema } from "effect"
import { BaseFields } from "./base.js"
import { Key, Tags, withDefault } from "./primitives.js"

export const Flow = Schema.Struct({
  ...BaseFields,
  name: Schema.String,
  tags: Tags
}).annotations({ identifier: "Flow" })
export type Flow = typeof Flow.Type

export const FlowCreate = Schema.Struct({
  name: Key.pipe(Schema.minLength(1)),
  tags: withDefault(Tags, () => [])
}).annotations({ identifier: "FlowCreate" })
export type FlowCreate = typeof FlowCreate.Type

export const FlowUpdate = Schema.Struct({
  tags: Schema.optional(Tags)
}).annotations({ identifier: "FlowUpdate" })
export type FlowUpdate = typeof FlowUpdate.Type
