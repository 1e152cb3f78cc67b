/** A deployment: a flow, where to load it from, default parameters and an optional schedule (spec §1.4). */
import { Schema } from "effect"
import { BaseFields } from "./base.js"
import { DataDocument } from "./data.js"
import { JsonObject, Key, nullable, Tags, Uuid, withDefault } from "./primitives.js"
import { Schedule } from "./schedule.js"

export const Deployment = Schema.Struct({
  ...BaseFields,
  name: Schema.String,
  flow_id: Uuid,
  flow_data: DataDocument,
  schedule: Schema.NullOr(Schedule),
  is_schedule_active: Schema.Boolean,
  parameters: JsonObject,
  tags: Tags
}).annotations({ identifier: "Deployment" })
export type Deployment = typeof Deployment.Type

export const DeploymentCreate = Schema.Struct({
  name: Key.pipe(Schema.minLength(1)),
  flow_id: Uuid,
  flow_data: DataDocument,
  schedule: nullable(Schedule),
  is_schedule_active: withDefault(Schema.Boolean, () => true),
  parameters: withDefault(JsonObject, () => ({})),
  tags: withDefault(Tags, () => [])
}).annotations({ identifier: "DeploymentCreate" })
export type DeploymentCreate = typeof DeploymentCreate.Type
