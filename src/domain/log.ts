/** Log lines emitted by runs (spec §11 "Logs API"). */
import { Schema } from "effect"
import { BaseFields } from "./base.js"
import { nullable, Timestamp, Uuid } from "./primitives.js"

export const Log = Schema.Struct({
  ...BaseFields,
  name: Schema.String,
  level: Schema.Int,
  message: Schema.String,
  timestamp: Timestamp,
  flow_run_id: Uuid,
  task_run_id: Schema.NullOr(Uuid)
}).annotations({ identifier: "Log" })
export type Log = typeof Log.Type

export const LogCreate = Schema.Struct({
  /** Chosen by the client (optional): a batch sent again after its answer was lost is then stored once. */
  id: Schema.optionalWith(Uuid, { exact: true }),
  name: Schema.String,
  level: Schema.Int.pipe(Schema.between(0, 100)),
  message: Schema.String.pipe(Schema.maxLength(1_000_000, { message: () => "log message longer than 1 MB" })),
  timestamp: Timestamp,
  flow_run_id: Uuid,
  task_run_id: nullable(Uuid)
}).annotations({ identifier: "LogCreate" })
export type LogCreate = typeof LogCreate.Type
