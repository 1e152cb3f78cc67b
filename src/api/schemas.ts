/**
 * Request and response shapes that exist only at the API's edge, built from the domain Schemas: strict payloads,
 * path and query parameters, and the few bodies with no domain object behind them (spec §4.4).
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"
import { JsonObject, Key, nullable, strictParse, Tags, Timestamp, Uuid, withDefault } from "../domain/primitives.js"
import { StateCreate } from "../domain/state.js"

/** A payload decoded strictly: unknown fields are refused and every problem is reported (spec §0.1). */
export const strict = <S extends Schema.Schema.Any>(schema: S): S => schema.annotations({ parseOptions: strictParse }) as S

/** `/{id}` of every object route. */
export const IdPath = Schema.Struct({ id: Uuid })

/** The body of `POST /deployments/{id}/create_flow_run`: the deployment supplies flow, parameters and tags. */
export const DeploymentFlowRunCreate = Schema.Struct({
  name: nullable(Key),
  parameters: withDefault(JsonObject, () => ({})),
  context: withDefault(JsonObject, () => ({})),
  tags: withDefault(Tags, () => []),
  idempotency_key: nullable(Key),
  state: nullable(StateCreate)
}).annotations({ identifier: "DeploymentFlowRunCreate" })
export type DeploymentFlowRunCreate = typeof DeploymentFlowRunCreate.Type

/** The body of `POST /deployments/{id}/schedule`: a window (default now … now + 100 days) and a maximum count. */
export const ScheduleRequest = Schema.Struct({
  start_time: nullable(Timestamp),
  end_time: nullable(Timestamp),
  max_runs: nullable(Schema.Int.pipe(Schema.between(1, 10_000)))
}).annotations({ identifier: "ScheduleRequest" })
export type ScheduleRequest = typeof ScheduleRequest.Type

/** The body of the destructive admin routes: nothing happens unless `confirm` is true. */
export const ConfirmRequest = Schema.Struct({
  confirm: withDefault(Schema.Boolean, () => false)
}).annotations({ identifier: "ConfirmRequest" })

/** What `GET /admin/settings` shows: the server's effective settings, the database password masked. */
export const ServerSettings = Schema.Struct({
  version: Schema.String,
  home: Schema.String,
  database_url: Schema.String,
  api: Schema.Struct({
    host: Schema.String,
    port: Schema.Int,
    cors_origins: Schema.Array(Schema.String),
    max_body_bytes: Schema.Int,
    max_data_bytes: Schema.Int
  }),
  data: Schema.Struct({ scheme: Schema.Literal("file"), base_path: Schema.String }),
  ui: Schema.Struct({ dir: Schema.NullOr(Schema.String) }),
  services: Schema.Struct({ enabled: Schema.Boolean, running: Schema.Array(Schema.String) })
}).annotations({ identifier: "ServerSettings" })
export type ServerSettings = typeof ServerSettings.Type

/** Raw bytes in a request or response body (`/data/persist`, `/data/retrieve`). */
export const Bytes = Schema.Uint8ArrayFromSelf.pipe(
  HttpApiSchema.withEncoding({ kind: "Uint8Array", contentType: "application/octet-stream" })
).annotations({ jsonSchema: { type: "string", format: "binary" } })

/** The Server-Sent Events body of `GET /api/events`. */
export const EventStreamBody = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })
).annotations({ description: "Server-Sent Events: `id: <n>`, `event: <kind>`, `data: <OrionEvent JSON>` frames" })

/** How an endpoint that writes declares a 409: its write clashed with data written concurrently (a unique key, a run's state). */
export const conflict = { status: 409 } as const
